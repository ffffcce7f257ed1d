import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Extra command line of a {@link Child}: script arguments, and Node options (e.g. `--cpu-prof`). */
export interface ChildArgs {
  readonly args?: readonly string[];
  readonly execArgv?: readonly string[];
  /**
   * Run the script with Node's own type stripping, without the tsx loader: the command the
   * container image runs (Dockerfile, deploy/k8s).
   */
  readonly plain?: boolean;
}

/**
 * An entry point as a child process (`node [execArgv] --import tsx <script> [args]`, or without
 * the loader when `plain`), output appended to `logFile`.
 */
export class Child {
  readonly #script: string;
  readonly #env: Record<string, string>;
  readonly #logFile: string;
  readonly #extra: ChildArgs;
  #child: ChildProcess | undefined;

  constructor(script: string, env: Record<string, string>, logFile: string, extra: ChildArgs = {}) {
    this.#script = script;
    this.#env = env;
    this.#logFile = logFile;
    this.#extra = extra;
  }

  start(): void {
    const log = createWriteStream(this.#logFile, { flags: 'a' });
    const loader = this.#extra.plain ? [] : ['--import', 'tsx'];
    const argv = [...(this.#extra.execArgv ?? []), ...loader, this.#script, ...(this.#extra.args ?? [])];
    this.#child = spawn(process.execPath, argv, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.#env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stdout?.pipe(log);
    this.#child.stderr?.pipe(log);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** True once started and until it exits. */
  get running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Polls until `check` is true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url).catch(() => undefined);
  return res?.ok ?? false;
}
