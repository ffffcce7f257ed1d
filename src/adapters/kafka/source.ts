import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { ActorHost } from '../../runtime/host.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { InputRecord } from '../../runtime/source.ts';
import { Mailboxes } from '../../runtime/mailbox.ts';
import { kafkaClient } from './client.ts';
import { removePreviousIncarnations } from './group-evict.ts';


export interface KafkaSourceOptions<M> {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** kafka.instanceId: joins as `<clientId>-<instanceId>` and first removes a dead predecessor of that id. */
  readonly instanceId?: string;
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
  /** Records a partition's mailbox holds before an offer waits (runtime.mailboxCapacity). */
  readonly mailboxCapacity: number;
  /** How often durable positions are committed to Kafka; default 2 s. */
  readonly commitIntervalMs?: number;
  readonly logger: Logger;
  /** Called when the consumer cannot go on (a `crash` verdict); the entry point exits. */
  readonly onFatal: (err: unknown) => void;
}

/**
 * Drives an ActorHost from a kafkajs consumer group through per-partition mailboxes
 * (runtime/mailbox.ts): each fetched batch is offered and kafkajs goes on fetching while the
 * host commits, so a fetch waits for no commit unless a mailbox is full. Redis holds the
 * durable input position; it is committed to Kafka every `commitIntervalMs` (monitoring, and
 * the restart point of a new member, which the host moves back to Redis's position if needed).
 */
export class KafkaSource<M> {
  readonly #options: KafkaSourceOptions<M>;
  readonly #consumer: Consumer;
  readonly #kafka: Kafka;
  readonly #clientId: string;
  readonly #log: Logger;
  readonly #mailboxes: Mailboxes<M>;
  /** Last offset committed to Kafka per partition, so unchanged ones are not sent again. */
  readonly #committed = new Map<number, string>();
  #commitTimer: NodeJS.Timeout | undefined;

  constructor(options: KafkaSourceOptions<M>) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'kafka-source', topic: options.topic, group: options.groupId });
    this.#clientId = options.instanceId === undefined ? options.clientId : `${options.clientId}-${options.instanceId}`;
    const kafka = kafkaClient({ clientId: this.#clientId, brokers: options.brokers, logger: options.logger });
    this.#kafka = kafka;
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
    const target = (partition: number) => [{ topic: options.topic, partitions: [partition] }];
    this.#mailboxes = new Mailboxes({
      host: options.host,
      capacity: options.mailboxCapacity,
      logger: this.#log,
      control: {
        pause: (partition) => this.#consumer.pause(target(partition)),
        resume: (partition) => this.#consumer.resume(target(partition)),
        seek: (partition, offset) => this.#consumer.seek({ topic: options.topic, partition, offset }),
        fatal: (err) => options.onFatal(err),
      },
    });
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => {
      const partitions = event.payload.memberAssignment[options.topic] ?? [];
      this.#log.info({ partitions, memberId: event.payload.memberId, isLeader: event.payload.isLeader }, 'assignment');
      this.#committed.clear();
      this.#mailboxes.onAssignment(partitions).catch((err: unknown) => this.#log.warn({ err }, 'claim after assignment failed; retried on the next batch'));
    });
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      this.#log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
      if (!event.payload.restart) options.onFatal(event.payload.error);
    });
  }

  async start(): Promise<void> {
    if (this.#options.instanceId !== undefined) await removePreviousIncarnations(this.#kafka, this.#options.groupId, this.#clientId, this.#log);
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [this.#options.topic], fromBeginning: true });
    await this.#consumer.run({
      // Offsets are resolved as batches are offered (that is the fetch position) and committed
      // from the durable positions below. kafkajs's autoCommit would also send an OffsetCommit
      // after every batch (its runner ignores the interval for eachBatch): ~150/s per worker live.
      eachBatchAutoResolve: false,
      autoCommit: false,
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#commitTimer = setInterval(() => void this.#commitDurable(), this.#options.commitIntervalMs ?? 2_000);
    this.#commitTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#commitTimer);
    await this.#mailboxes.stop();
    await this.#commitDurable();
    await this.#consumer.disconnect();
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const partition = batch.partition;
    const records: InputRecord[] = batch.messages.map((m) => ({ partition, offset: m.offset, key: m.key, value: m.value }));
    // Returns at once unless the partition's mailbox is full (then: once its loop took them).
    await this.#mailboxes.offer(partition, records, heartbeat);
    resolveOffset(records[records.length - 1]!.offset);
  }

  /** Commits each claimed partition's durable position (Redis) to Kafka, when it moved. */
  async #commitDurable(): Promise<void> {
    const { host, topic } = this.#options;
    const offsets: { topic: string; partition: number; offset: string }[] = [];
    for (const [partition, task] of host.claimed()) {
      if (task.nextOffset === null || !host.assigned.has(partition) || this.#committed.get(partition) === task.nextOffset) continue;
      offsets.push({ topic, partition, offset: task.nextOffset });
    }
    if (offsets.length === 0) return;
    try {
      await this.#consumer.commitOffsets(offsets);
      for (const { partition, offset } of offsets) this.#committed.set(partition, offset);
    } catch (err) {
      // Typically a rebalance in progress: the next interval (or the new owner) commits.
      this.#log.debug({ err }, 'offset commit to Kafka failed');
    }
  }
}
