/**
 * Backups and restores (docs/backup-restore.md has the runbook):
 *
 *   npm run backup -- redis --out DIR                     whole-instance RDB snapshot + manifest
 *   npm run backup -- restore-redis --from DIR [--force] [--scope all|state]
 *   npm run backup -- cassandra --out DIR                 logical backup of the keyspace's tables
 *   npm run backup -- restore-cassandra --from DIR
 *
 * Configured by the usual RISKSTREAM_* environment (src/runtime/config.ts): the Redis URL and key
 * prefix, the Kafka brokers (restore-redis checks the consumer groups and topics there), the
 * Cassandra contact points and keyspace. Progress is logged as pino JSON lines on stdout; the
 * last stdout line is a JSON summary. Exit codes: 0 done, 1 failed or refused (the
 * error's code and context on stderr), 2 usage.
 */
import { parseArgs } from 'node:util';
import { backupCassandra, restoreCassandra } from '../adapters/cassandra/backup.ts';
import { kafkaRestoreGuard } from '../adapters/kafka/restore-guard.ts';
import { backupRedis, restoreRedis } from '../adapters/redis/backup.ts';
import { type Config, loadConfig } from '../runtime/config.ts';
import { RiskstreamError } from '../runtime/errors.ts';
import { createLogger, type Logger } from '../runtime/logger.ts';

const USAGE = 'usage: backup redis --out DIR | restore-redis --from DIR [--force] [--scope all|state] | cassandra --out DIR | restore-cassandra --from DIR';

type Command = (config: Readonly<Config>, logger: Logger, dir: string, flags: { force: boolean; scope: 'all' | 'state' }) => Promise<unknown>;

const COMMANDS: Readonly<Record<string, { dirFlag: 'out' | 'from'; run: Command }>> = {
  redis: {
    dirFlag: 'out',
    run: async (config, logger, outDir) => {
      const m = await backupRedis({ url: config.redis.url, keyPrefix: config.redis.keyPrefix, outDir, logger });
      return { backup: 'redis', dir: outDir, createdAt: m.createdAt, keys: m.keys, partitions: m.partitions.length, bytes: m.rdb.bytes };
    },
  },
  'restore-redis': {
    dirFlag: 'from',
    run: async (config, logger, fromDir, flags) => {
      const guard = await kafkaRestoreGuard(config, logger);
      try {
        const r = await restoreRedis({ url: config.redis.url, keyPrefix: config.redis.keyPrefix, fromDir, guard, logger, ...flags });
        return {
          restored: 'redis', from: fromDir, backupCreatedAt: r.manifest.createdAt, keysRestored: r.keysRestored, keysDeleted: r.keysDeleted,
          busyGroups: r.busyGroups, partitions: r.partitions,
        };
      } finally {
        await guard.close();
      }
    },
  },
  cassandra: {
    dirFlag: 'out',
    run: async (config, logger, outDir) => {
      const m = await backupCassandra({ config, outDir, logger });
      return { backup: 'cassandra', dir: outDir, keyspace: m.keyspace, schemaVersion: m.schema.version, tables: m.tables.map((t) => ({ name: t.name, rows: t.rows })) };
    },
  },
  'restore-cassandra': {
    dirFlag: 'from',
    run: async (config, logger, fromDir) => {
      const r = await restoreCassandra({ config, fromDir, logger });
      return { restored: 'cassandra', from: fromDir, keyspace: config.cassandra.keyspace, schemaVersion: r.manifest.schema.version, tables: r.tables };
    },
  },
};

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const command = COMMANDS[positionals[0] ?? ''];
  const dir = command ? values[command.dirFlag] : undefined;
  const scope = values.scope;
  if (!command || positionals.length !== 1 || dir === undefined || (scope !== 'all' && scope !== 'state')) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.observability.logLevel, name: 'backup' });
  const summary = await command.run(config, logger, dir, { force: values.force, scope });
  console.log(JSON.stringify(summary));
  return 0;
}

function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      from: { type: 'string' },
      force: { type: 'boolean', default: false },
      scope: { type: 'string', default: 'all' },
    },
  });
}

main()
  .then((code) => (process.exitCode = code))
  .catch((err: unknown) => {
    if (err instanceof RiskstreamError) {
      console.error(`backup failed: ${err.code}: ${err.message}`);
      console.error(`context: ${JSON.stringify(err.context)}`);
    } else {
      console.error('backup failed:', err instanceof Error ? (err.stack ?? err.message) : err);
    }
    process.exitCode = 1;
  });
