import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, link, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BackupErrorCodes, backupError } from '../backup-errors.ts';

/**
 * The two Redis programs a backup needs: `redis-cli --rdb` (a point-in-time copy of a whole
 * instance, taken as a replica's initial sync, so it works against a remote server and needs no
 * access to its disk) and a scratch `redis-server` that loads such a copy so its keys can be read.
 * Both come from the Redis packages (scripts/stack/redis.sh); the scratch server must be at least
 * the source's version to read its RDB.
 */

/** Where a `redis://` or `rediss://` URL points (the state store's `redis.url`). */
export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
}

export function parseRedisUrl(url: string): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw backupError(BackupErrorCodes.manifestInvalid, `redis.url is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw backupError(BackupErrorCodes.manifestInvalid, `redis.url must be redis:// or rediss://, not ${parsed.protocol}`);
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw backupError(BackupErrorCodes.manifestInvalid, `redis.url has a bad database number: ${parsed.pathname}`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db,
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    tls: parsed.protocol === 'rediss:',
  };
}

/**
 * `redis-cli --rdb <file>`: the server forks and streams its dataset as of that instant. The
 * password goes through REDISCLI_AUTH, not the command line (where `ps` would show it).
 */
export async function snapshotRdb(endpoint: RedisEndpoint, file: string): Promise<void> {
  const args = ['-h', endpoint.host, '-p', String(endpoint.port)];
  if (endpoint.username !== undefined) args.push('--user', endpoint.username);
  if (endpoint.tls) args.push('--tls');
  args.push('--rdb', file);
  const env = { ...process.env, ...(endpoint.password === undefined ? {} : { REDISCLI_AUTH: endpoint.password }) };
  const { code, output } = await run(spawn('redis-cli', args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  if (code !== 0) {
    throw backupError(BackupErrorCodes.toolFailed, `redis-cli --rdb failed (exit ${code}): ${output.trim().slice(-500)}`, { host: endpoint.host, port: endpoint.port });
  }
}

/** A redis-server of our own over a copy of an RDB file; `stop()` ends it and deletes its directory. */
export interface ScratchServer {
  readonly redis: Redis;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` over `rdbFile` (hard-linked, or copied across file systems) in a fresh
 * temporary directory: no AOF, no snapshots, and no TCP port at all: it listens on a Unix socket
 * in that directory (mode 700), so there is no free-port race and nothing else can reach it.
 * Resolves once the dataset is loaded (PING answers PONG, not LOADING).
 */
export async function startScratchServer(rdbFile: string, db: number, timeoutMs = 120_000): Promise<ScratchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-restore-'));
  await link(rdbFile, join(dir, 'dump.rdb')).catch(() => copyFile(rdbFile, join(dir, 'dump.rdb')));
  const socket = join(dir, 'redis.sock');
  const args = [
    '--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dir, '--dbfilename', 'dump.rdb',
    '--appendonly', 'no', '--save', '', '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning',
    '--databases', String(Math.max(16, db + 1)),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let ended = false;
  const exited = run(child).finally(() => (ended = true));
  const stop = async (): Promise<void> => {
    if (!ended) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ended) {
      const { output } = await exited;
      await rm(dir, { recursive: true, force: true });
      throw backupError(BackupErrorCodes.toolFailed, `scratch redis-server could not load ${rdbFile}: ${output.trim().slice(-500)}`);
    }
    const redis = await connected(socket, db);
    if (redis) {
      return {
        redis,
        stop: async () => {
          redis.disconnect();
          await stop();
        },
      };
    }
    if (Date.now() > deadline) {
      await stop();
      throw backupError(BackupErrorCodes.toolFailed, `scratch redis-server did not load ${rdbFile} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A client of the scratch server once it answers PING (not LOADING); undefined until then. */
async function connected(socket: string, db: number): Promise<Redis | undefined> {
  const redis = new Redis({ path: socket, db, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    if ((await redis.ping()) === 'PONG') return redis;
  } catch {
    // not listening yet, or still loading the dataset
  }
  redis.disconnect();
  return undefined;
}

/** Waits for a child to exit; its stdout and stderr together, and the exit code (-1 on a signal or spawn error). */
function run(child: ChildProcess): Promise<{ code: number; output: string }> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.once('error', (err) => resolve({ code: -1, output: `${output}${err.message}` }));
    child.once('close', (code) => resolve({ code: code ?? -1, output }));
  });
}
