import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './worker-process.ts';

/**
 * The local stack's Redis process, for the Redis-restart fault test. Only the process recorded
 * in `.stack/run/redis.pid` is touched, and only if it is a redis-server of this checkout's
 * stack (its title names the stack's config file), like scripts/stack.sh's own `is_ours`.
 */
const STACK = process.env.RISKSTREAM_STACK_DIR ?? join(REPO_ROOT, '.stack');

export function stackRedisPid(): number {
  const pid = Number(readFileSync(join(STACK, 'run', 'redis.pid'), 'utf8').trim());
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  if (!cmdline.includes('redis-server') || !cmdline.includes(`${STACK}/`)) {
    throw new Error(`pid ${pid} is not this stack's redis-server: ${cmdline}`);
  }
  return pid;
}

/** kill -9 the stack's redis-server and wait until the process is gone. */
export async function killStackRedis(): Promise<number> {
  const pid = stackRedisPid();
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server ${pid} survived SIGKILL`);
}

/** `npm run stack -- up redis`: starts it again (loading the AOF) and waits until it answers. */
export function startStackRedis(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['scripts/stack.sh', 'up', 'redis'], { cwd: REPO_ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`stack up redis failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
