import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * A worker (`src/cli/worker.ts`) as a real child process, for fault tests: start it, wait until
 * it runs, kill -9 it, stop it gracefully, freeze and thaw it (SIGSTOP/SIGCONT), read its
 * /metrics. The child is `node --import tsx src/cli/worker.ts`, not the `tsx` CLI: the CLI runs
 * the script in a grandchild, and a kill -9 of the CLI would leave that grandchild running.
 *
 * Every line the child prints goes to `<logDir>/<name>.log`; the fixture deletes the directory
 * when a test passes and keeps it (and names it) when one fails. Log messages are also counted
 * by their pino `msg`, so a test can assert "commit refused" or count assignments.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerSpec {
  /** Unique within a test; names the log file. */
  readonly name: string;
  /** Logical input topic (the worker applies RISKSTREAM_KAFKA_TOPIC_PREFIX). */
  readonly topic: string;
  readonly group: string;
  /** RISKSTREAM_* settings; merged over the parent's environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly logDir: string;
  readonly pipeline?: string;
}

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A pino log line of the worker. */
export interface LogRecord {
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Log messages kept whole (the rest are only counted). */
const KEPT_MESSAGES: ReadonlySet<string> = new Set([
  'assignment', 'partition claimed', 'commit refused: partition lost', 'worker running', 'batch failed; retrying after a backoff',
  'graph snapshot swapped',
]);

/** Every child started here and not yet exited: `killAllWorkers` ends them after a failed test. */
const live = new Set<WorkerProcess>();

export class WorkerProcess {
  readonly spec: WorkerSpec;
  readonly pid: number;
  readonly exited: Promise<WorkerExit>;
  readonly logFile: string;
  /** How many log lines carried each pino `msg`. */
  readonly messages = new Map<string, number>();
  /** Parsed log records whose `msg` is in `KEPT_MESSAGES`, in order. */
  readonly records: LogRecord[] = [];
  metricsPort: number | undefined;
  #exit: WorkerExit | undefined;
  readonly #child: ChildProcess;
  readonly #log: WriteStream;
  readonly #waiters: { msg: string; resolve: () => void }[] = [];

  private constructor(spec: WorkerSpec) {
    this.spec = spec;
    mkdirSync(spec.logDir, { recursive: true });
    this.logFile = join(spec.logDir, `${spec.name}.log`);
    this.#log = createWriteStream(this.logFile, { flags: 'a' });
    const args = ['--import', 'tsx', 'src/cli/worker.ts', '--pipeline', spec.pipeline ?? 'counter'];
    args.push('--topic', spec.topic, '--group', spec.group);
    this.#child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.#child.pid === undefined) throw new Error(`worker ${spec.name} did not start`);
    this.pid = this.#child.pid;
    live.add(this);
    this.#follow(this.#child.stdout!);
    this.#follow(this.#child.stderr!);
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        live.delete(this);
        resolve(this.#exit);
      });
    });
  }

  static start(spec: WorkerSpec): WorkerProcess {
    return new WorkerProcess(spec);
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  count(msg: string): number {
    return this.messages.get(msg) ?? 0;
  }

  /** Resolves once the worker logged 'worker running' (its consumer started); throws if it died. */
  async waitRunning(timeoutMs = 60_000): Promise<void> {
    if (this.count('worker running') > 0) return;
    const running = new Promise<void>((resolve) => this.#waiters.push({ msg: 'worker running', resolve }));
    const died = this.exited.then((exit) => {
      throw new Error(`worker ${this.spec.name} exited before running (${JSON.stringify(exit)}); log: ${this.logFile}`);
    });
    await withTimeout(Promise.race([running, died]), timeoutMs, `worker ${this.spec.name} running`);
  }

  /** kill -9, then wait for the exit. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful drain: the worker leaves the group); SIGKILL if it takes too long. */
  async stop(graceMs = 30_000): Promise<WorkerExit> {
    if (this.alive) {
      this.#child.kill('SIGCONT');
      this.#child.kill('SIGTERM');
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Freezes the process: no heartbeats, no commits; sockets stay open (a zombie in the making). */
  pause(): void {
    this.#child.kill('SIGSTOP');
  }

  resume(): void {
    this.#child.kill('SIGCONT');
  }

  /** The worker's /metrics text. */
  async metrics(): Promise<string> {
    if (this.metricsPort === undefined) throw new Error(`worker ${this.spec.name} has no metrics port yet`);
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return res.text();
  }

  /** Sum of a metric's samples over all label sets (0 when absent). */
  async metric(name: string): Promise<number> {
    return sumMetric(await this.metrics(), name);
  }

  /** Resolves when the log stream is flushed (call after the process exited). */
  async closeLog(): Promise<void> {
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }

  #follow(stream: NodeJS.ReadableStream): void {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => {
      this.#log.write(`${line}\n`);
      const parsed = parseLine(line);
      if (!parsed) return;
      this.messages.set(parsed.msg, (this.messages.get(parsed.msg) ?? 0) + 1);
      if (KEPT_MESSAGES.has(parsed.msg)) this.records.push(parsed);
      if (parsed.msg === 'worker running' && typeof parsed.metricsPort === 'number') this.metricsPort = parsed.metricsPort;
      for (const waiter of this.#waiters.filter((w) => w.msg === parsed.msg)) waiter.resolve();
    });
  }
}

/** Ends every worker this process started and that still runs (SIGKILL; they may be frozen). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.kill9()));
}

function parseLine(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as { msg?: unknown };
    return typeof parsed.msg === 'string' ? (parsed as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Prometheus text format: sums `name` and `name{...}` samples. */
export function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!rest.startsWith(' ') && !rest.startsWith('{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
