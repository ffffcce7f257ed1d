import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runStack, testConfig } from '../support/services.ts';

// scripts/stack.sh against the running stack: status tells the truth, a killed service is seen
// as down and restarted by `up`, and `up` never starts a second copy.
const SERVICES = ['kafka', 'cassandra', 'redis', 'prometheus'];

/** Column `column` (1 = STATE, 2 = PID) of a service's line in `status` output. */
function field(statusOutput: string, service: string, column: number): string | undefined {
  const line = statusOutput.split('\n').find((l) => l.startsWith(`${service} `));
  return line?.trim().split(/\s+/)[column];
}
const stateOf = (out: string, service: string) => field(out, service, 1);

/** The recorded redis pid, as `status` shows it. */
async function redisPid(): Promise<string | undefined> {
  return field((await runStack(['status', 'redis'])).stdout, 'redis', 2);
}

/** Our redis-server processes, from the script's own process list. */
async function ourRedisPids(): Promise<string[]> {
  const { stdout } = await runStack(['pids']);
  return stdout
    .split('\n')
    .filter((pid) => pid !== '')
    .filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('redis-server'));
}

async function redisAnswers(): Promise<boolean> {
  const redis = new Redis(testConfig().redis.url, {
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // a refused connection is the expected answer here
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

describe('scripts/stack.sh', () => {
  it('status reports every service up', async () => {
    const status = await runStack(['status']);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    for (const service of SERVICES) expect(stateOf(status.stdout, service)).toBe('up');
  });

  it('sees a killed redis as down, restarts it with up, and never starts a duplicate', async () => {
    const before = (await redisPid())!;
    expect(before).toMatch(/^\d+$/);
    process.kill(Number(before), 'SIGKILL');

    const down = await runStack(['status', 'redis']);
    expect(down.code).toBe(3);
    expect(stateOf(down.stdout, 'redis')).toBe('down');
    expect(await redisAnswers()).toBe(false);

    const up = await runStack(['up', 'redis']);
    expect(up.code, up.stderr).toBe(0);
    const restarted = (await redisPid())!;
    expect(restarted).not.toBe(before);
    expect(await redisAnswers()).toBe(true);

    const again = await runStack(['up']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('redis: already running');
    expect(await redisPid()).toBe(restarted);
    expect(await ourRedisPids()).toEqual([restarted]);

    const status = await runStack(['status']);
    expect(status.code, status.stdout).toBe(0);
  });
});
