import { Redis } from 'ioredis';
import { type Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { JobContext } from '../../batch/ports.ts';
import type { Logger } from '../../runtime/logger.ts';
import { classifyInfrastructureFailure } from '../../runtime/supervisor.ts';

/** One kind of job: its schedule and what it does. */
export interface BatchJobSpec {
  readonly name: string;
  /** Run every this many ms (a BullMQ job scheduler); 0: only on demand. */
  readonly everyMs: number;
  readonly run: (ctx: JobContext) => Promise<unknown>;
}

export interface BatchQueueOptions {
  readonly redisUrl: string;
  /** BullMQ's own key prefix (its keys are `<prefix>:<queue>:...`). */
  readonly prefix: string;
  readonly queueName: string;
  readonly jobs: readonly BatchJobSpec[];
  readonly attempts: number;
  readonly backoffMs: number;
  readonly logger: Logger;
  /** Called once per finished attempt (metrics). */
  readonly onFinished?: (name: string, outcome: 'completed' | 'failed', seconds: number, result: unknown) => void;
  /** Start a worker that runs jobs (false: only schedule and enqueue, e.g. the dashboard). */
  readonly work: boolean;
  readonly concurrency?: number;
  /** BullMQ's lock of a running job (renewed at half of it); see batch.lockDurationMs. */
  readonly lockDurationMs?: number;
}

/**
 * The batch layer's queue on BullMQ: one queue, one job scheduler per job kind, one worker that
 * runs them (concurrency 1 by default: the jobs are CPU-heavy and share the process with nothing
 * else, and batch pods are separate from stream workers so batch load never starves the stream).
 *
 * A job's as-of time is when it was due (creation + delay), so a retried attempt reads the same
 * data and writes the same result: the jobs are idempotent by construction.
 */
export class BatchQueue {
  readonly queue: Queue;
  readonly #worker: Worker | undefined;
  readonly #events: QueueEvents;
  readonly #connections: Redis[] = [];
  readonly #options: BatchQueueOptions;

  constructor(options: BatchQueueOptions) {
    this.#options = options;
    const connect = () => {
      // BullMQ's blocking commands need maxRetriesPerRequest null (its docs and checks).
      const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
      redis.on('error', (err) => options.logger.warn({ err }, 'batch queue redis error; reconnecting'));
      this.#connections.push(redis);
      return redis;
    };
    const specs = new Map(options.jobs.map((j) => [j.name, j]));
    this.queue = new Queue(options.queueName, {
      connection: connect(),
      prefix: options.prefix,
      defaultJobOptions: {
        attempts: options.attempts,
        backoff: { type: 'exponential', delay: options.backoffMs },
        removeOnComplete: { count: 200 },
        removeOnFail: { count: 500 },
      },
    });
    this.#events = new QueueEvents(options.queueName, { connection: connect(), prefix: options.prefix });
    if (options.work) {
      this.#worker = new Worker(
        options.queueName,
        async (job: Job) => {
          const spec = specs.get(job.name);
          if (!spec) throw new Error(`unknown batch job "${job.name}"`);
          const started = performance.now();
          const asOfMs = typeof job.data?.asOfMs === 'number' ? job.data.asOfMs : job.timestamp + (job.opts.delay ?? 0);
          const params = (job.data?.params ?? {}) as Record<string, string>;
          const ctx: JobContext = {
            asOfMs,
            params,
            progress: async (percent) => void (await job.updateProgress(percent)),
            log: async (message) => void (await job.log(message)),
          };
          const log = options.logger.child({ job: job.name, jobId: job.id, attempt: job.attemptsMade + 1, asOfMs });
          log.info('batch job started');
          try {
            const result = await spec.run(ctx);
            const seconds = (performance.now() - started) / 1000;
            options.onFinished?.(job.name, 'completed', seconds, result);
            log.info({ seconds }, 'batch job completed');
            return result;
          } catch (err) {
            const seconds = (performance.now() - started) / 1000;
            options.onFinished?.(job.name, 'failed', seconds, undefined);
            // The supervisor's rule: a terminal error (bad config or parameters) fails the job
            // now; anything else (I/O, unknown) is retried with the backoff.
            const terminal = classifyInfrastructureFailure(err) === 'crash';
            log.warn({ err, seconds, terminal }, 'batch job attempt failed');
            throw terminal ? new UnrecoverableError(err instanceof Error ? err.message : String(err)) : err;
          }
        },
        { connection: connect(), prefix: options.prefix, concurrency: options.concurrency ?? 1, lockDuration: options.lockDurationMs ?? 600_000 },
      );
      this.#worker.on('error', (err) => options.logger.warn({ err }, 'batch worker error'));
    }
  }

  /** Creates or updates one job scheduler per scheduled job kind, and removes stale ones. */
  async schedule(): Promise<void> {
    const wanted = new Set<string>();
    for (const spec of this.#options.jobs) {
      if (spec.everyMs <= 0) continue;
      wanted.add(spec.name);
      await this.queue.upsertJobScheduler(spec.name, { every: spec.everyMs }, { name: spec.name, data: {} });
    }
    for (const s of await this.queue.getJobSchedulers()) {
      if (s.key && !wanted.has(s.key)) await this.queue.removeJobScheduler(s.key);
    }
  }

  /**
   * Enqueues one run now and waits for its end. `asOfMs` pins its as-of time; the job id makes a
   * second request for the same kind, as-of time and parameters the same job (deduplicated by
   * BullMQ).
   */
  async runNow(name: string, asOfMs: number, timeoutMs: number, params: Readonly<Record<string, string>> = {}): Promise<unknown> {
    if (!this.#options.jobs.some((j) => j.name === name)) throw new Error(`unknown batch job "${name}"`);
    const tag = Object.entries(params).sort().map(([k, v]) => `-${k}=${v}`).join('');
    const job = await this.queue.add(name, { asOfMs, params }, { jobId: `${name}-${asOfMs}${tag}` });
    return job.waitUntilFinished(this.#events, timeoutMs);
  }

  async close(): Promise<void> {
    await this.#worker?.close();
    await this.#events.close();
    await this.queue.close();
    for (const c of this.#connections) c.disconnect();
  }
}
