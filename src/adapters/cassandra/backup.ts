import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import cassandra from 'cassandra-driver';
import type { Config } from '../../runtime/config.ts';
import { ErrorCodes, toRiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { BackupErrorCodes, backupError } from '../backup-errors.ts';
import {
  assertSameSchema, assertSupported, type BackupRow, CASSANDRA_BACKUP_FORMAT, CASSANDRA_MANIFEST_FILE, type CassandraManifest,
  type ColumnSpec, parseCassandraManifest, restoreWrites, type SchemaVersion, toJsonValue,
} from './backup-values.ts';

/**
 * Logical backup and restore of the keyspace's tables (every table but `schema_migrations`):
 * paged SELECTs that read each cell with its WRITETIME and TTL, written as JSON lines
 * (backup-values.ts has the format), and a restore that INSERTs every cell back `USING
 * TIMESTAMP` its original write time. Last-write-wins then decides: a restore never overwrites a
 * cell written after the backup, restoring twice changes nothing, and what was lost (a truncated
 * table, a dropped keyspace, a new cluster) comes back with its original write times. A row
 * DELETEd after the backup stays deleted (its tombstone is the newer write; docs/backup-restore.md).
 */
export interface CassandraBackupOptions {
  readonly config: Pick<Config, 'cassandra'>;
  readonly outDir: string;
  readonly logger: Logger;
  /** Rows per page of the SELECTs. */
  readonly pageSize?: number;
}

export async function backupCassandra(options: CassandraBackupOptions): Promise<CassandraManifest> {
  const { config, outDir, logger } = options;
  const { keyspace } = config.cassandra;
  await mkdir(outDir, { recursive: true });
  if (await access(join(outDir, CASSANDRA_MANIFEST_FILE)).then(() => true, () => false)) {
    throw backupError(BackupErrorCodes.manifestInvalid, `${outDir} already holds a backup; give a new directory`, { dir: outDir });
  }
  return withClient(config, async (client) => {
    const createdAtMs = Date.now();
    const schema = await schemaVersion(client, keyspace);
    const tables: CassandraManifest['tables'] = [];
    for (const name of await tableNames(client, keyspace)) {
      const columns = await columnsOf(client, keyspace, name);
      for (const col of columns) assertSupported(name, col);
      const file = `${name}.jsonl`;
      const { rows, sha256 } = await dumpTable(client, keyspace, name, columns, join(outDir, file), options.pageSize ?? 1_000);
      logger.info({ table: name, rows }, 'table backed up');
      tables.push({ name, file, rows, sha256, columns });
    }
    const manifest: CassandraManifest = {
      format: CASSANDRA_BACKUP_FORMAT, formatVersion: 1, createdAtMs, createdAt: new Date(createdAtMs).toISOString(), keyspace, schema, tables,
    };
    await writeFile(join(outDir, `${CASSANDRA_MANIFEST_FILE}.tmp`), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(join(outDir, `${CASSANDRA_MANIFEST_FILE}.tmp`), join(outDir, CASSANDRA_MANIFEST_FILE));
    return manifest;
  });
}

export interface CassandraRestoreOptions {
  readonly config: Pick<Config, 'cassandra'>;
  readonly fromDir: string;
  readonly logger: Logger;
  /** INSERTs in flight at once. */
  readonly concurrency?: number;
}

export interface CassandraRestoreReport {
  readonly manifest: CassandraManifest;
  readonly tables: readonly { name: string; rows: number; writes: number }[];
}

/**
 * Restores a backup into the configured keyspace, which must be at the backup's schema version
 * (the same applied migrations). Every file is checked against the manifest (sha256, row count)
 * before the first write.
 */
export async function restoreCassandra(options: CassandraRestoreOptions): Promise<CassandraRestoreReport> {
  const { config, fromDir, logger } = options;
  let text: string;
  try {
    text = await readFile(join(fromDir, CASSANDRA_MANIFEST_FILE), 'utf8');
  } catch (err) {
    throw backupError(BackupErrorCodes.manifestInvalid, `no ${CASSANDRA_MANIFEST_FILE} in ${fromDir}: ${(err as Error).message}`, { dir: fromDir });
  }
  const manifest = parseCassandraManifest(text);
  for (const table of manifest.tables) await verifyFile(fromDir, table);
  return withClient(config, async (client) => {
    assertSameSchema(manifest.schema, await schemaVersion(client, config.cassandra.keyspace), config.cassandra.keyspace);
    const tables: { name: string; rows: number; writes: number }[] = [];
    for (const table of manifest.tables) {
      const result = await loadTable(client, config.cassandra.keyspace, fromDir, table, manifest.createdAtMs, options.concurrency ?? 32);
      logger.info({ table: table.name, ...result }, 'table restored');
      tables.push({ name: table.name, ...result });
    }
    return { manifest, tables };
  });
}

/** The applied migrations of `keyspace` (its schema version is the highest). */
export async function schemaVersion(client: cassandra.Client, keyspace: string): Promise<SchemaVersion> {
  let rs: cassandra.types.ResultSet;
  try {
    rs = await client.execute(`SELECT version, name, checksum FROM ${ident(keyspace)}.schema_migrations`);
  } catch (err) {
    throw backupError(BackupErrorCodes.schemaMismatch, `keyspace ${keyspace} has no schema_migrations (not provisioned?): ${(err as Error).message}`, { keyspace }, err);
  }
  const migrations = rs.rows
    .map((r) => ({ version: Number(r.get('version')), name: String(r.get('name')), checksum: String(r.get('checksum')) }))
    .sort((a, b) => a.version - b.version);
  return { version: migrations.at(-1)?.version ?? 0, migrations };
}

async function tableNames(client: cassandra.Client, keyspace: string): Promise<string[]> {
  const rs = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], { prepare: true });
  return rs.rows.map((r) => String(r.get('table_name'))).filter((t) => t !== 'schema_migrations').sort();
}

/** Key columns first (partition key, clustering, by position), then the others by name. */
async function columnsOf(client: cassandra.Client, keyspace: string, table: string): Promise<ColumnSpec[]> {
  const rs = await client.execute(
    'SELECT column_name, kind, type, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, table],
    { prepare: true },
  );
  const rank = { partition_key: 0, clustering: 1, static: 2, regular: 2 } as const;
  return rs.rows
    .map((r) => ({ name: String(r.get('column_name')), kind: String(r.get('kind')) as ColumnSpec['kind'], type: String(r.get('type')), position: Number(r.get('position')) }))
    .sort((a, b) => rank[a.kind] - rank[b.kind] || (rank[a.kind] < 2 ? a.position - b.position : a.name < b.name ? -1 : 1))
    .map(({ name, kind, type }) => ({ name, kind, type }));
}

const isKey = (col: ColumnSpec) => col.kind === 'partition_key' || col.kind === 'clustering';

async function dumpTable(client: cassandra.Client, keyspace: string, table: string, columns: readonly ColumnSpec[], path: string, pageSize: number): Promise<{ rows: number; sha256: string }> {
  const keys = columns.filter(isKey);
  const cells = columns.filter((c) => !isKey(c));
  const selectors = [...keys.map((c) => ident(c.name)), ...cells.flatMap((c) => [ident(c.name), `WRITETIME(${ident(c.name)})`, `TTL(${ident(c.name)})`])];
  const cql = `SELECT ${selectors.join(', ')} FROM ${ident(keyspace)}.${ident(table)}`;
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  let rows = 0;
  let pageState: string | undefined;
  try {
    do {
      const rs = await client.execute(cql, [], { prepare: true, fetchSize: pageSize, ...(pageState === undefined ? {} : { pageState }) });
      for (const row of rs.rows) {
        const values = row.values();
        const line: BackupRow = { k: keys.map((c, i) => toJsonValue(c.type, values[i])), c: cellsOf(cells, values, keys.length) };
        await writeLine(out, hash, `${JSON.stringify(line)}\n`);
        rows += 1;
      }
      pageState = rs.pageState ?? undefined;
    } while (pageState !== undefined);
  } finally {
    out.end();
    await once(out, 'close');
  }
  return { rows, sha256: hash.digest('hex') };
}

function cellsOf(cells: readonly ColumnSpec[], values: readonly unknown[], offset: number): BackupRow['c'] {
  const out: Record<string, readonly [unknown, string, number | null]> = {};
  cells.forEach((col, i) => {
    const value = values[offset + 3 * i];
    if (value === null || value === undefined) return;
    const ttl = values[offset + 3 * i + 2];
    out[col.name] = [toJsonValue(col.type, value), String(values[offset + 3 * i + 1]), ttl === null || ttl === undefined ? null : Number(ttl)];
  });
  return out;
}

async function writeLine(out: WriteStream, hash: ReturnType<typeof createHash>, line: string): Promise<void> {
  hash.update(line);
  if (!out.write(line)) await once(out, 'drain');
}

async function verifyFile(dir: string, table: CassandraManifest['tables'][number]): Promise<void> {
  const hash = createHash('sha256');
  let rows = 0;
  try {
    for await (const line of createInterface({ input: createReadStream(join(dir, table.file)), crlfDelay: Number.POSITIVE_INFINITY })) {
      hash.update(`${line}\n`);
      rows += 1;
    }
  } catch (err) {
    throw backupError(BackupErrorCodes.corrupt, `cannot read ${table.file}: ${(err as Error).message}`, { table: table.name });
  }
  const sha256 = hash.digest('hex');
  if (rows !== table.rows || sha256 !== table.sha256) {
    throw backupError(BackupErrorCodes.corrupt, `${table.file} does not match the manifest (${rows} rows, manifest ${table.rows}; sha256 ${sha256 === table.sha256 ? 'ok' : 'differs'})`, { table: table.name });
  }
}

/**
 * INSERTs every backed-up row of `table`, at most `concurrency` in flight; the first failure
 * stops the load (a restore can be run again: it writes identical cells).
 */
async function loadTable(client: cassandra.Client, keyspace: string, dir: string, table: CassandraManifest['tables'][number], createdAtMs: number, concurrency: number): Promise<{ rows: number; writes: number }> {
  const keys = table.columns.filter(isKey);
  const cells = new Map(table.columns.filter((c) => !isKey(c)).map((c) => [c.name, c]));
  const elapsedMs = Date.now() - createdAtMs;
  const fallbackMicros = String(createdAtMs * 1000);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let rows = 0;
  let writes = 0;
  for await (const line of createInterface({ input: createReadStream(join(dir, table.file)), crlfDelay: Number.POSITIVE_INFINITY })) {
    for (const write of restoreWrites(keys, cells, JSON.parse(line) as BackupRow, elapsedMs, fallbackMicros)) {
      const cql = `INSERT INTO ${ident(keyspace)}.${ident(table.name)} (${write.columns.map(ident).join(', ')}) VALUES (${write.columns.map(() => '?').join(', ')}) USING TIMESTAMP ? AND TTL ?`;
      const params = [...write.values, cassandra.types.Long.fromString(write.timestampMicros), write.ttlSeconds];
      const pending: Promise<void> = client.execute(cql, params, { prepare: true }).then(
        () => void inFlight.delete(pending),
        (err: unknown) => {
          failure ??= err;
          inFlight.delete(pending);
        },
      );
      inFlight.add(pending);
      writes += 1;
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
      if (failure !== undefined) break;
    }
    if (failure !== undefined) break;
    rows += 1;
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw toRiskstreamError(failure, ErrorCodes.cassandraUnavailable, true);
  return { rows, writes };
}

/** Runs `body` with a connected client (no keyspace: every statement names it) and always shuts it down. */
async function withClient<T>(config: Pick<Config, 'cassandra'>, body: (client: cassandra.Client) => Promise<T>): Promise<T> {
  const client = new cassandra.Client({
    contactPoints: [...config.cassandra.contactPoints],
    localDataCenter: config.cassandra.localDataCenter,
    queryOptions: { consistency: cassandra.types.consistencies.localQuorum },
    socketOptions: { readTimeout: 60_000, connectTimeout: 10_000 },
  });
  try {
    await client.connect();
    return await body(client);
  } catch (err) {
    throw toRiskstreamError(err, ErrorCodes.cassandraUnavailable, true);
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

/** Names come from system_schema or validated config; this guards the interpolation all the same. */
function ident(name: string): string {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(name)) throw backupError(BackupErrorCodes.manifestInvalid, `invalid Cassandra identifier "${name}"`);
  return `"${name}"`;
}
