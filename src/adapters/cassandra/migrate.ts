import cassandra from 'cassandra-driver';
import { loadMigrations, type Migration } from '../../provision/cassandra/migrations.ts';
import type { Config } from '../../runtime/config.ts';
import { ErrorCodes, RiskstreamError, toRiskstreamError } from '../../runtime/errors.ts';

/** What {@link migrate} did, for the provisioning CLI's report. */
export interface MigrateResult {
  readonly keyspace: string;
  readonly applied: readonly Migration[];
  readonly alreadyApplied: readonly Migration[];
}

export interface MigrateOptions {
  /** Migrations to apply; default: the files in src/provision/cassandra/migrations/. */
  readonly migrations?: readonly Migration[];
}

/**
 * Brings the keyspace `config.cassandra.keyspace` up to date: creates it (SimpleStrategy,
 * `replicationFactor` replicas) and its `schema_migrations` table if missing, then applies, in
 * version order, each migration not recorded there, recording it after its last statement.
 *
 * Invariants: an applied migration is never applied again; an applied migration whose file
 * changed since (checksum) stops the run with CONFIG_INVALID before anything newer is applied.
 * Two concurrent runs are safe because every statement is idempotent (IF NOT EXISTS).
 */
export async function migrate(
  config: Pick<Config, 'cassandra'>,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const { keyspace } = config.cassandra;
  const migrations = options.migrations ?? loadMigrations();
  await withClient(config, undefined, (client) => createKeyspace(client, config.cassandra));
  return withClient(config, keyspace, async (client) => {
    await client.execute(SCHEMA_MIGRATIONS_DDL);
    const recorded = await appliedChecksums(client);
    const applied: Migration[] = [];
    const alreadyApplied: Migration[] = [];
    for (const migration of migrations) {
      const checksum = recorded.get(migration.version);
      if (checksum === undefined) {
        await apply(client, migration);
        applied.push(migration);
      } else if (checksum !== migration.checksum) {
        throw new RiskstreamError(
          ErrorCodes.configInvalid,
          `migration ${label(migration)} was applied to ${keyspace} with another checksum; applied files must not change`,
          { context: { keyspace, version: migration.version, recorded: checksum, file: migration.checksum } },
        );
      } else {
        alreadyApplied.push(migration);
      }
    }
    return { keyspace, applied, alreadyApplied };
  });
}

/**
 * Drops a keyspace (tests clean up their own), emptying its tables first. Dropping tables right
 * after heavy writes once stopped the local Cassandra 5.0: its commit-log allocator, flushing to
 * reclaim space, met a dirty segment of a just-dropped table ("Unknown CF") and the commit
 * failure policy stopped the node. TRUNCATE flushes and marks each table clean in every segment
 * first, so the drop leaves no dirty reference behind.
 */
export async function dropKeyspace(config: Pick<Config, 'cassandra'>, keyspace: string): Promise<void> {
  await withClient(config, undefined, async (client) => {
    const rs = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], { prepare: true });
    for (const row of rs.rows) {
      await client.execute(`TRUNCATE ${identifier(keyspace)}.${identifier(String(row.table_name))}`, [], { readTimeout: 120_000 });
    }
    await client.execute(`DROP KEYSPACE IF EXISTS ${identifier(keyspace)}`);
  });
}

const { responseErrorCodes } = cassandra.types;
const REJECTED = new Set<number>([
  responseErrorCodes.syntaxError,
  responseErrorCodes.invalid,
  responseErrorCodes.configError,
  responseErrorCodes.unauthorized,
]);

const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version int PRIMARY KEY, name text, checksum text, applied_at timestamp)`;

async function createKeyspace(client: cassandra.Client, options: Config['cassandra']): Promise<void> {
  await client.execute(
    `CREATE KEYSPACE IF NOT EXISTS ${identifier(options.keyspace)} WITH replication = ` +
      `{'class': 'SimpleStrategy', 'replication_factor': ${options.replicationFactor}}`,
  );
}

async function appliedChecksums(client: cassandra.Client): Promise<Map<number, string>> {
  const result = await client.execute('SELECT version, checksum FROM schema_migrations');
  return new Map(result.rows.map((row) => [row.get('version') as number, row.get('checksum') as string]));
}

async function apply(client: cassandra.Client, migration: Migration): Promise<void> {
  for (const [index, statement] of migration.statements.entries()) {
    try {
      await client.execute(statement);
    } catch (err) {
      // A statement Cassandra rejects fails the same way every time; anything else is I/O.
      const rejected = err instanceof cassandra.errors.ResponseError && REJECTED.has(err.code);
      throw new RiskstreamError(
        rejected ? ErrorCodes.configInvalid : ErrorCodes.cassandraUnavailable,
        `migration ${label(migration)} failed at statement ${index + 1}: ${(err as Error).message}`,
        { retriable: !rejected, cause: err, context: { version: migration.version, statement: index + 1 } },
      );
    }
  }
  await client.execute(
    'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)',
    [migration.version, migration.name, migration.checksum, new Date()],
    { prepare: true },
  );
}

/** Runs `body` with a connected client (in `keyspace` if given) and always shuts it down. */
async function withClient<T>(
  config: Pick<Config, 'cassandra'>,
  keyspace: string | undefined,
  body: (client: cassandra.Client) => Promise<T>,
): Promise<T> {
  const client = new cassandra.Client({
    contactPoints: [...config.cassandra.contactPoints],
    localDataCenter: config.cassandra.localDataCenter,
    ...(keyspace === undefined ? {} : { keyspace }),
    // DDL waits for schema agreement; a cold single node can take a few seconds per table.
    socketOptions: { readTimeout: 60_000, connectTimeout: 10_000 },
  });
  try {
    await client.connect();
  } catch (err) {
    await client.shutdown().catch(() => undefined);
    throw toRiskstreamError(err, ErrorCodes.cassandraUnavailable, true);
  }
  try {
    return await body(client);
  } finally {
    await client.shutdown();
  }
}

/** Keyspace names come from validated config; this guards the interpolation all the same. */
function identifier(name: string): string {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(name)) {
    throw new RiskstreamError(ErrorCodes.configInvalid, `invalid Cassandra identifier "${name}"`);
  }
  return name;
}

function label(migration: Migration): string {
  return `${String(migration.version).padStart(3, '0')}_${migration.name}`;
}
