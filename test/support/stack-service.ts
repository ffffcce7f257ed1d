import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './worker-process.ts';

/**
 * The local stack's service processes, for the restart fault tests (Redis, Kafka, Cassandra). Only the
 * process recorded in `.stack/run/<service>.pid` is touched, and only if it is that service of
 * this checkout's stack (its command line names the program and the stack's directory), like
 * scripts/stack.sh's own `is_ours`.
 */
const STACK = process.env.RISKSTREAM_STACK_DIR ?? join(REPO_ROOT, '.stack');

export type StackService = 'redis' | 'kafka' | 'cassandra';

/** What the command line of each service's process holds (besides the stack's directory). */
const PROGRAM: Record<StackService, string> = { redis: 'redis-server', kafka: 'kafka.Kafka', cassandra: 'CassandraDaemon' };

export function stackPid(service: StackService): number {
  const pid = Number(readFileSync(join(STACK, 'run', `${service}.pid`), 'utf8').trim());
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  if (!cmdline.includes(PROGRAM[service]) || !cmdline.includes(`${STACK}/`)) {
    throw new Error(`pid ${pid} is not this stack's ${service}: ${cmdline.slice(0, 300)}`);
  }
  return pid;
}

/** kill -9 the service's process and wait until it is gone. */
export async function killStackService(service: StackService): Promise<number> {
  const pid = stackPid(service);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200; i += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${service} ${pid} survived SIGKILL`);
}

/**
 * SIGSTOP the service's process: it keeps its sockets and memory but answers nothing, as in a
 * long GC pause or a hung host. Returns the pid for {@link resumeStackService}.
 */
export function pauseStackService(service: StackService): number {
  const pid = stackPid(service);
  process.kill(pid, 'SIGSTOP');
  return pid;
}

/** SIGCONT a process paused by {@link pauseStackService}; harmless when it runs. */
export function resumeStackService(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // gone: nothing to resume
  }
}

/** `bash scripts/stack.sh <action> <service>`; resolves with its output. */
function stackScript(action: 'up' | 'down', service: StackService): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['scripts/stack.sh', action, service], { cwd: REPO_ROOT, timeout: 180_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`stack ${action} ${service} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** `npm run stack -- down <service>`: a graceful stop (SIGTERM, SIGKILL after the grace period). */
export function stopStackService(service: StackService): Promise<string> {
  return stackScript('down', service);
}

/**
 * `npm run stack -- up <service>`: starts it again (Redis loads its AOF, Kafka recovers its
 * logs, Cassandra replays its commit log) and waits until it answers. A no-op when it runs.
 */
export function startStackService(service: StackService): Promise<string> {
  return stackScript('up', service);
}

/**
 * Retries `read` until it resolves, for up to `timeoutMs`, then rethrows its last error. A
 * restarted broker answers before it leads every partition again ("not the leader"): a test's
 * own reads right after a restart wait for that.
 */
export async function untilOk<T>(read: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
