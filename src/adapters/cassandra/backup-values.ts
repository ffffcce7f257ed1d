import cassandra from 'cassandra-driver';
import { z } from 'zod';
import { BackupErrorCodes, backupError, parseManifest } from '../backup-errors.ts';

/**
 * Formats of the logical Cassandra backup (src/adapters/cassandra/backup.ts), and the pure
 * pieces of it: column values to JSON and back, and a backed-up row to the INSERTs that restore it.
 *
 * One file per table, `<table>.jsonl`, one row per line:
 *
 *   {"k":[<key column values, in the manifest's key order>],
 *    "c":{"<column>":[<value>, "<writetime µs>", <ttl s at backup time, or null>], ...}}
 *
 * A cell that is null (never written, or deleted) is left out; a row whose cells are all null
 * has `"c":{}`. Values by CQL type: text/ascii/varchar, int/smallint/tinyint, boolean as JSON;
 * bigint and counter as decimal strings (exact beyond 2^53); timestamp as epoch ms; double/float
 * as numbers, or the strings "NaN", "Infinity", "-Infinity"; blob as base64; uuid/timeuuid as
 * text; frozen lists, sets and maps of the JSON-native scalar types as JSON arrays/objects.
 * Anything else (non-frozen collections, UDTs, tuples, ...) is refused at backup time.
 *
 * `manifest.json` lists the keyspace's applied migrations (its schema version), and per table its
 * columns, file, row count and sha256.
 */
export const CASSANDRA_BACKUP_FORMAT = 'riskstream-cassandra-backup';
export const CASSANDRA_MANIFEST_FILE = 'manifest.json';

const column = z.strictObject({ name: z.string(), kind: z.enum(['partition_key', 'clustering', 'regular', 'static']), type: z.string() });

export const cassandraManifestSchema = z.strictObject({
  format: z.literal(CASSANDRA_BACKUP_FORMAT),
  formatVersion: z.literal(1),
  createdAtMs: z.number().int().positive(),
  createdAt: z.string(),
  keyspace: z.string(),
  schema: z.strictObject({
    version: z.number().int().min(0),
    migrations: z.array(z.strictObject({ version: z.number().int(), name: z.string(), checksum: z.string() })),
  }),
  tables: z.array(z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/),
    file: z.string().regex(/^[a-z][a-z0-9_]*\.jsonl$/),
    rows: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Key columns first (partition key, then clustering, in their positions), then the cells. */
    columns: z.array(column).min(1),
  })),
});

export type CassandraManifest = z.infer<typeof cassandraManifestSchema>;
export type ColumnSpec = z.infer<typeof column>;
export type SchemaVersion = CassandraManifest['schema'];

export function parseCassandraManifest(text: string): CassandraManifest {
  return parseManifest(cassandraManifestSchema, text, 'Cassandra');
}

/** The schema versions must be the same migrations (version and checksum), else RESTORE_SCHEMA_MISMATCH. */
export function assertSameSchema(backup: SchemaVersion, target: SchemaVersion, keyspace: string): void {
  const text = (s: SchemaVersion) => s.migrations.map((m) => `${m.version}:${m.checksum}`).join(',');
  if (text(backup) === text(target)) return;
  throw backupError(
    BackupErrorCodes.schemaMismatch,
    `the backup is of schema version ${backup.version} (${backup.migrations.length} migrations), keyspace ${keyspace} is at ${target.version} ` +
      `(${target.migrations.length}): restore into a keyspace migrated to the backup's version, then migrate it forward (docs/backup-restore.md)`,
    { backupVersion: backup.version, targetVersion: target.version, keyspace },
  );
}

const SCALARS = new Set(['text', 'ascii', 'varchar', 'int', 'smallint', 'tinyint', 'boolean', 'bigint', 'counter', 'timestamp', 'double', 'float', 'blob', 'uuid', 'timeuuid']);
const JSON_NATIVE = new Set(['text', 'ascii', 'varchar', 'int', 'smallint', 'tinyint', 'boolean', 'double', 'float']);
const FROZEN = /^frozen<(list|set)<(\w+)>>$|^frozen<map<(text|ascii|varchar), (\w+)>>$/;

/** Refuses a column type the format above cannot carry, naming the column. */
export function assertSupported(table: string, col: ColumnSpec): void {
  if (SCALARS.has(col.type)) return;
  const frozen = FROZEN.exec(col.type);
  if (frozen && JSON_NATIVE.has(frozen[2] ?? frozen[4] ?? '')) return;
  throw backupError(BackupErrorCodes.unsupportedType, `column ${table}.${col.name} has type ${col.type}, which the backup cannot carry`, { table, column: col.name, type: col.type });
}

/** A driver value of a column of `type` as JSON (see the format above). */
export function toJsonValue(type: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'bigint':
    case 'counter':
      return String(value);
    case 'timestamp':
      return (value as Date).getTime();
    case 'blob':
      return (value as Buffer).toString('base64');
    case 'uuid':
    case 'timeuuid':
      return String(value);
    case 'double':
    case 'float':
      return Number.isFinite(value as number) ? value : String(value);
    default:
      return value;
  }
}

/** The inverse of {@link toJsonValue}: a value the driver binds to a prepared statement. */
export function fromJsonValue(type: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'bigint':
    case 'counter':
      return cassandra.types.Long.fromString(String(value));
    case 'timestamp':
      return new Date(value as number);
    case 'blob':
      return Buffer.from(String(value), 'base64');
    case 'uuid':
      return cassandra.types.Uuid.fromString(String(value));
    case 'timeuuid':
      return cassandra.types.TimeUuid.fromString(String(value));
    case 'double':
    case 'float':
      return typeof value === 'string' ? Number(value) : value;
    default:
      return value;
  }
}

/** One backed-up row: key values, and per written cell its value, write time (µs, decimal) and TTL. */
export interface BackupRow {
  readonly k: readonly unknown[];
  readonly c: Readonly<Record<string, readonly [unknown, string, number | null]>>;
}

/** One INSERT of a restore: the columns it writes (keys first) with their values, its timestamp and TTL. */
export interface RestoreWrite {
  readonly columns: readonly string[];
  readonly values: readonly unknown[];
  readonly timestampMicros: string;
  readonly ttlSeconds: number;
}

/**
 * The INSERTs that put `row` back: one per distinct (write time, TTL) of its cells, each
 * `USING TIMESTAMP <original write time>`, so Cassandra's last-write-wins keeps any cell written
 * later than the backed-up one (a newer value, or a DELETE's tombstone) and restoring twice
 * writes identical cells. A TTL counts down from the backup: `elapsedMs` since then is taken off,
 * and a cell that would have expired by now is left out. A row without cells gets one key-only
 * INSERT at `fallbackMicros` (its row marker's time is not readable; the backup's time bounds it).
 */
export function restoreWrites(keyColumns: readonly ColumnSpec[], cells: ReadonlyMap<string, ColumnSpec>, row: BackupRow, elapsedMs: number, fallbackMicros: string): RestoreWrite[] {
  const keys = keyColumns.map((col, i) => fromJsonValue(col.type, row.k[i]));
  const names = keyColumns.map((col) => col.name);
  const groups = new Map<string, { timestampMicros: string; ttlSeconds: number; columns: string[]; values: unknown[] }>();
  for (const [name, [value, writetime, ttl]] of Object.entries(row.c)) {
    const spec = cells.get(name);
    if (!spec) throw backupError(BackupErrorCodes.corrupt, `a backed-up row has a cell of unknown column ${name}`);
    const ttlSeconds = ttl === null ? 0 : ttl - Math.floor(elapsedMs / 1000);
    if (ttl !== null && ttlSeconds <= 0) continue;
    const id = `${writetime}/${ttlSeconds}`;
    const group = groups.get(id) ?? { timestampMicros: writetime, ttlSeconds, columns: [...names], values: [...keys] };
    group.columns.push(name);
    group.values.push(fromJsonValue(spec.type, value));
    groups.set(id, group);
  }
  if (groups.size === 0 && Object.keys(row.c).length === 0) {
    return [{ columns: names, values: keys, timestampMicros: fallbackMicros, ttlSeconds: 0 }];
  }
  return [...groups.values()];
}
