/**
 * The Redis state store: `StateStore` over ioredis, one Lua script call per operation.
 *
 * ## Durability and exactly-once (Redis 7.0, AOF, appendfsync everysec)
 *
 * Redis acknowledges a commit before it is on disk, and 7.0 has no WAITAOF to wait for the
 * fsync. The window: with `appendfsync everysec` the AOF is fsynced once a second, so a machine
 * or OS crash (power loss, kernel panic, VM killed) can lose the last ~1 s of acknowledged
 * commits. A crash of only the redis-server process normally loses nothing: Redis hands the
 * AOF buffer to the kernel (write(2)) before it sends the replies. But while a previous fsync is
 * still running (slow disk) Redis postpones that write for up to 2 s and replies anyway, so then
 * even a process crash loses up to ~2 s. A promoted asynchronous replica loses its replication
 * lag the same way.
 *
 * Why that still gives exactly-once state:
 * - A commit is one script; Redis 7 writes a script's effects to the AOF as one MULTI/EXEC
 *   block, and on load an incomplete trailing MULTI is reverted, so every commit survives whole
 *   or not at all. What survives is a prefix of the commit history.
 * - The offset lives in the same atomic unit as the states, dedup marks, timers and outbox. A
 *   lost commit rolls all of them back together to the previous commit: Redis again describes
 *   "state after input n" with next offset n+1, and the owner re-processes from n+1. Each input
 *   is folded into the durable state exactly once.
 * - The runtime MUST react to `offset_mismatch` (and to `fenced`) by dropping every cached state
 *   of the partition, claiming again and resuming from the claimed offset; a worker that kept
 *   its cache and only rewound its offset would apply the lost batch twice. A worker that has
 *   not noticed the loss is refused anyway: its `fromOffset` is past the stored one.
 * - A lost claim (HINCRBY epoch) lowers the epoch, so a previous owner might commit again; the
 *   offset check still only accepts a batch that starts exactly at the stored position, so the
 *   state stays a correct fold of the input (fencing keeps zombies out; the offset check is what
 *   makes each commit apply once).
 * - What is NOT exactly-once: effects. A lost commit's outbox entry may already have been
 *   drained to the sinks; re-processing produces those effects again and they are re-emitted.
 *   Sinks are idempotent (upserts by key; emitted events are deduplicated by event id
 *   downstream), so this is harmless. Outbox seq numbers are reused after a loss (the counter
 *   rolls back too), so a sink must never deduplicate by outbox seq: it is only an ack cursor.
 * - Losing everything (no AOF, or FLUSHALL) is outside this argument: the partition restarts
 *   from "never committed".
 *
 * Connection blips: ioredis re-sends a command whose reply was lost. If the first send of a
 * commit was applied, the re-send is refused with `offset_mismatch` and `storedOffset ===
 * batch.nextOffset`; re-claiming (above) is the correct reaction there too.
 */
import { Redis } from 'ioredis';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import { assertForward, MIN_TIME_MS } from '../../runtime/store.ts';
import type {
  CommitBatch,
  CommitResult,
  PartitionClaim,
  PartitionRef,
  StateStore,
  StoredPosition,
} from '../../runtime/store.ts';
import { decodeAckReply, decodeClaimReply, decodeCommitReply, encodeCommitArgs } from './codec.ts';
import { assertValidKeyPrefix, MetaFields, type PartitionKeys, partitionKeys } from './keys.ts';
import { defineScripts, type StoreScripts } from './scripts.ts';

export interface RedisStateStoreOptions {
  /**
   * A client to share (the store never closes it) or a Redis URL (the store creates a client
   * and closes it in `close`). A client's own ioredis `keyPrefix` applies on top of ours.
   */
  readonly redis: Redis | string;
  /** Prefix of every key (no braces: they would move the cluster hash tag). */
  readonly keyPrefix: string;
  /**
   * Connection-level errors of the store's client, created or given (reconnects happen by
   * themselves; commands that fail surface as STORE_UNAVAILABLE). Default: one line on stderr.
   * A listener is always attached: an ioredis client without one re-throws 'error' events as
   * an uncaught exception, so a Redis restart would crash the worker instead of pausing it.
   */
  readonly onConnectionError?: (err: Error) => void;
}

/** Logs without crashing; ioredis keeps reconnecting by itself. */
function defaultConnectionError(err: Error): void {
  process.stderr.write(`${JSON.stringify({ level: 40, msg: 'redis state store connection error', err: err.message })}\n`);
}

/** Redis implementation of the state store port; semantics are pinned by the contract suite. */
export class RedisStateStore implements StateStore {
  readonly #redis: Redis;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #scripts: StoreScripts;
  readonly #onError: (err: Error) => void;
  /**
   * Keys per ref object: a partition task passes the same (readonly) ref to every call, and
   * building five escaped key strings for each load, commit and ack was per-batch garbage.
   */
  readonly #keysByRef = new WeakMap<PartitionRef, PartitionKeys>();
  /** Commits refused because the caller was fenced (a zombie); tests and metrics read it. */
  fencedCommits = 0;

  constructor(options: RedisStateStoreOptions) {
    assertValidKeyPrefix(options.keyPrefix);
    this.#prefix = options.keyPrefix;
    this.#ownsClient = typeof options.redis === 'string';
    this.#redis = typeof options.redis === 'string' ? new Redis(options.redis) : options.redis;
    this.#onError = options.onConnectionError ?? defaultConnectionError;
    this.#redis.on('error', this.#onError);
    this.#scripts = defineScripts(this.#redis);
  }

  #keys(ref: PartitionRef): PartitionKeys {
    let keys = this.#keysByRef.get(ref);
    if (keys === undefined) {
      keys = partitionKeys(this.#prefix, ref);
      this.#keysByRef.set(ref, keys);
    }
    return keys;
  }

  /** Runs one Redis operation; failures become retriable STORE_UNAVAILABLE errors with context. */
  async #io<T>(op: string, ref: PartitionRef, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof RiskstreamError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new RiskstreamError(ErrorCodes.storeUnavailable, `redis ${op} failed: ${message}`, {
        retriable: true,
        cause: err,
        context: { op, group: ref.group, topic: ref.topic, partition: ref.partition },
      });
    }
  }

  async claim(ref: PartitionRef): Promise<PartitionClaim> {
    const keys = this.#keys(ref);
    const reply = await this.#io('claim', ref, () =>
      this.#scripts.claimPartition(keys.meta, keys.timers, keys.outbox),
    );
    return decodeClaimReply(reply);
  }

  async loadStates(ref: PartitionRef, ids: readonly string[]): Promise<(string | null)[]> {
    if (ids.length === 0) return [];
    const key = this.#keys(ref).state;
    const reply = await this.#io('loadStates', ref, () => this.#redis.call('HMGET', [key, ...ids]));
    if (!Array.isArray(reply) || reply.length !== ids.length) {
      throw new RiskstreamError(ErrorCodes.storeUnavailable, 'unexpected HMGET reply');
    }
    return reply.map((value) => (value === null || value === undefined ? null : String(value)));
  }

  async seen(ref: PartitionRef, ids: readonly string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const key = this.#keys(ref).dedup;
    const reply = await this.#io('seen', ref, () => this.#redis.call('ZMSCORE', [key, ...ids]));
    if (!Array.isArray(reply) || reply.length !== ids.length) {
      throw new RiskstreamError(ErrorCodes.storeUnavailable, 'unexpected ZMSCORE reply');
    }
    return reply.map((score) => score !== null && score !== undefined);
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const keys = this.#keys(batch.ref);
    // Validation throws before any I/O: a malformed batch is a bug, not a refusal.
    assertForward(batch);
    const args = encodeCommitArgs(batch);
    const reply = await this.#io('commit', batch.ref, () =>
      this.#scripts.commitBatch(keys.meta, keys.state, keys.dedup, keys.timers, keys.outbox, args),
    );
    const result = decodeCommitReply(reply);
    if (!result.ok && result.reason === 'fenced') this.fencedCommits += 1;
    return result;
  }

  async ackOutbox(ref: PartitionRef, epoch: number, uptoSeq: number): Promise<boolean> {
    const keys = this.#keys(ref);
    const reply = await this.#io('ackOutbox', ref, () =>
      this.#scripts.ackOutbox(keys.meta, keys.outbox, String(epoch), String(uptoSeq)),
    );
    return decodeAckReply(reply);
  }

  /** One pipelined HMGET per partition (their keys live in different hash slots). */
  async positions(refs: readonly PartitionRef[]): Promise<(StoredPosition | null)[]> {
    if (refs.length === 0) return [];
    const batch = this.#redis.pipeline();
    for (const ref of refs) batch.hmget(this.#keys(ref).meta, MetaFields.nextOffset, MetaFields.maxEventTimeMs);
    return this.#io('positions', refs[0]!, async () => {
      const replies = (await batch.exec()) ?? [];
      return refs.map((_, i) => {
        const [err, fields] = replies[i] ?? [new Error('no reply'), null];
        if (err) throw err; // #io turns it into a retriable STORE_UNAVAILABLE
        const [next, maxEt] = fields as [string | null, string | null];
        return next ? { nextOffset: next, maxEventTimeMs: maxEt ? Number(maxEt) : MIN_TIME_MS } : null;
      });
    });
  }

  async close(): Promise<void> {
    // A shared client outlives the store: leave no listener behind (many stores on one client
    // would otherwise pile them up).
    if (!this.#ownsClient) {
      this.#redis.off('error', this.#onError);
      return;
    }
    if (this.#redis.status === 'end') return;
    await this.#redis.quit();
  }
}
