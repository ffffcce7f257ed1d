import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { ActorHost } from '../../runtime/host.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { InputRecord } from '../../runtime/source.ts';
import { backoffMs, classifyInfrastructureFailure } from '../../runtime/supervisor.ts';
import { kafkaClient } from './client.ts';


export interface KafkaSourceOptions<M> {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  /** Physical topic name (prefix applied). */
  readonly topic: string;
  readonly host: ActorHost<M>;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Longest a fetch waits on the broker for new records (see kafka.fetchMaxWaitMs). */
  readonly fetchMaxWaitMs?: number;
  /** Bytes a fetch waits for before the broker answers (see kafka.fetchMinBytes). */
  readonly fetchMinBytes?: number;
  readonly partitionsConsumedConcurrently: number;
  readonly maxBytesPerPartition: number;
  readonly logger: Logger;
  /** Called when the consumer cannot go on (a `crash` verdict); the entry point exits. */
  readonly onFatal: (err: unknown) => void;
}

/**
 * Drives an ActorHost from a kafkajs consumer group. Redis holds the durable input position;
 * the offsets committed here to Kafka trail it and serve lag monitoring and a fast restart
 * point. A batch the host could not finish is never resolved, so Kafka redelivers it.
 */
export class KafkaSource<M> {
  readonly #options: KafkaSourceOptions<M>;
  readonly #consumer: Consumer;
  readonly #log: Logger;
  readonly #failures = new Map<number, number>();

  constructor(options: KafkaSourceOptions<M>) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'kafka-source', topic: options.topic, group: options.groupId });
    const kafka = kafkaClient({ clientId: options.clientId, brokers: options.brokers, logger: options.logger });
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(options.sessionTimeoutMs * 3, 30_000),
      maxBytesPerPartition: options.maxBytesPerPartition,
      ...(options.fetchMaxWaitMs === undefined ? {} : { maxWaitTimeInMs: options.fetchMaxWaitMs }),
      ...(options.fetchMinBytes === undefined ? {} : { minBytes: options.fetchMinBytes }),
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 200 },
    });
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => {
      const partitions = event.payload.memberAssignment[options.topic] ?? [];
      this.#log.info({ partitions, memberId: event.payload.memberId, isLeader: event.payload.isLeader }, 'assignment');
      options.host.onAssignment(partitions).catch((err: unknown) => this.#log.warn({ err }, 'claim after assignment failed; retried on the next batch'));
    });
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      this.#log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
      if (!event.payload.restart) options.onFatal(event.payload.error);
    });
  }

  async start(): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [this.#options.topic], fromBeginning: true });
    await this.#consumer.run({
      eachBatchAutoResolve: false,
      // kafkajs's autoCommit sends an OffsetCommit after EVERY batch (its runner ignores the
      // interval for eachBatch) and awaits it before the next fetch. Live, with 12 small
      // partition batches per fetch, that was ~150 commits/s per worker: most of the broker's
      // CPU at 1,000 events/s and a broker round trip on every batch's path. The committed
      // offset only trails Redis (monitoring, restart hint), so once per interval is enough:
      // commitOffsetsIfNecessary below honours autoCommitInterval.
      autoCommit: false,
      autoCommitInterval: 2_000,
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  async stop(): Promise<void> {
    await this.#consumer.disconnect();
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const partition = batch.partition;
    const records: InputRecord[] = batch.messages.map((m) => ({ partition, offset: m.offset, key: m.key, value: m.value }));
    try {
      const outcome = await this.#options.host.handleBatch(partition, records, () => this.#heartbeat(heartbeat, partition));
      this.#failures.delete(partition);
      if (outcome.kind === 'processed') {
        if (outcome.lastOffset !== null) resolveOffset(outcome.lastOffset);
        await commitOffsetsIfNecessary();
        // Event-time alignment held the rest of the batch back: it is fetched again after this.
        if (outcome.waitMs !== undefined) this.#pauseFor(partition, outcome.waitMs);
      } else if (outcome.kind === 'seek') {
        this.#log.info({ partition, offset: outcome.offset }, 'seeking to the durable position');
        this.#consumer.seek({ topic: batch.topic, partition, offset: outcome.offset });
      } else {
        // Fenced: another worker owns this partition now. Wait for the rebalance to reach us.
        await sleep(500);
      }
      await heartbeat();
    } catch (err) {
      this.#onFailure(partition, err);
    }
  }

  /**
   * A heartbeat during a long batch (kafkajs sends one only when its interval has passed, so
   * calling it per slice is cheap). A failure (typically "rebalance in progress") must not fail
   * the batch: what was committed stays committed, fencing refuses the rest if the partition
   * moved, and kafkajs learns of the rebalance on its own next heartbeat.
   */
  async #heartbeat(heartbeat: () => Promise<void>, partition: number): Promise<void> {
    try {
      await heartbeat();
    } catch (err) {
      this.#log.debug({ err, partition }, 'heartbeat during a batch failed');
    }
  }

  /** Backpressure instead of buffering: a failing partition is paused and resumed after a backoff. */
  #onFailure(partition: number, err: unknown): void {
    const verdict = classifyInfrastructureFailure(err);
    if (verdict === 'crash') {
      this.#options.onFatal(err);
      return;
    }
    const attempt = this.#failures.get(partition) ?? 0;
    this.#failures.set(partition, attempt + 1);
    const delay = backoffMs(attempt);
    this.#log.warn({ err, partition, attempt, delayMs: delay }, 'batch failed; partition paused');
    this.#pauseFor(partition, delay);
  }

  #pauseFor(partition: number, ms: number): void {
    const target = [{ topic: this.#options.topic, partitions: [partition] }];
    this.#consumer.pause(target);
    setTimeout(() => this.#consumer.resume(target), ms).unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
