import type { Logger } from './logger.ts';

export type LifecycleState = 'starting' | 'running' | 'draining' | 'stopped';

type StopHook = { name: string; stop: () => Promise<void> };

/**
 * Explicit lifecycle: starting → running → draining → stopped. Stop hooks run in reverse order
 * of registration (last started, first stopped), each bounded by a timeout so one stuck
 * dependency cannot keep the process alive forever.
 */
export class Lifecycle {
  #state: LifecycleState = 'starting';
  readonly #hooks: StopHook[] = [];
  readonly #logger: Logger;
  readonly #stopTimeoutMs: number;

  constructor(logger: Logger, stopTimeoutMs = 15_000) {
    this.#logger = logger;
    this.#stopTimeoutMs = stopTimeoutMs;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  onStop(name: string, stop: () => Promise<void>): void {
    this.#hooks.push({ name, stop });
  }

  markRunning(): void {
    if (this.#state === 'starting') this.#state = 'running';
  }

  async stop(reason: string): Promise<void> {
    if (this.#state === 'draining' || this.#state === 'stopped') return;
    this.#state = 'draining';
    this.#logger.info({ reason }, 'draining');
    for (const hook of [...this.#hooks].reverse()) {
      try {
        await withTimeout(hook.stop(), this.#stopTimeoutMs, hook.name);
      } catch (err) {
        this.#logger.error({ err, hook: hook.name }, 'stop hook failed');
      }
    }
    this.#state = 'stopped';
    this.#logger.info('stopped');
  }

  /** SIGTERM/SIGINT start a graceful drain; a second signal exits at once. */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    let signals = 0;
    const handler = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) exit(130);
      void this.stop(signal).then(() => exit(0));
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  }
}

async function withTimeout(promise: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stop hook ${name} timed out after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
