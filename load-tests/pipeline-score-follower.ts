/**
 * Follows sampled events of the latency measurement to "score visible through the lookup API".
 *
 * It tails risk.scores (the user worker emits a score there in the same sink call, before its
 * commit, that writes the live score to Redis) with the project's readTopic; when a sampled event's score shows up,
 * it GETs /v1/scores/:eventId until that answers 200. One lookup per sample (plus a retry when
 * the Redis write trails the Kafka record) instead of blind polling, so following costs the API
 * little. Every score value passing by is also kept as its user's latest (the lookup
 * measurement's seed).
 */
import { readTopic } from '../src/adapters/kafka/reader.ts';
import { TopicBase } from '../src/provision/topics.ts';
import type { Logger } from '../src/runtime/logger.ts';
import type { LookupClient } from './pipeline-http.ts';
import type { BenchWorld } from './pipeline-world.ts';

/** ScoreRecord JSON starts with its event_id (src/actors/user/user-actor.ts): no parse needed. */
const EVENT_ID_AT = '{"event_id":"'.length;

export class ScoreFollower {
  /** Scheduled send time (performance.now() base) of each sampled event not seen yet. */
  readonly #awaited = new Map<string, number>();
  /** Scheduled send → 200 from the lookup. */
  readonly visible: number[] = [];
  /** The same, with the scheduled send time (performance.now() base) of each sample. */
  readonly timeline: [number, number][] = [];
  /** Scheduled send → the score record seen on risk.scores. */
  readonly emitted: number[] = [];
  readonly latestByUser = new Map<string, string>();
  readonly #confirms: Promise<void>[] = [];
  readonly #lookup: LookupClient;
  #stop: () => boolean = () => false;
  #done = false;
  lookupRetries = 0;
  scoresSeen = 0;
  sampled = 0;

  constructor(world: BenchWorld, lookup: LookupClient, logger: Logger, timeoutMs: number) {
    this.#lookup = lookup;
    const tail = readTopic(world.config, {
      topic: world.topic(TopicBase.scores), groupId: world.readerGroup('scores-tail'), logger, timeoutMs,
      from: new Map(Array.from({ length: 12 }, (_, p) => [p, '0'])),
      onRecord: (record) => {
        this.#onScore(record.key, record.value?.toString('utf8') ?? '');
        return this.#stop();
      },
    });
    void tail.then(
      () => (this.#done = true),
      (err: unknown) => {
        this.#done = true;
        logger.warn({ err }, 'score tail ended with an error');
      },
    );
  }

  get awaiting(): number {
    return this.#awaited.size;
  }

  get done(): boolean {
    return this.#done;
  }

  expect(eventId: string, scheduled: number): void {
    this.#awaited.set(eventId, scheduled);
    this.sampled += 1;
  }

  /** The event was not accepted: it will never be scored. */
  forget(eventId: string): void {
    if (this.#awaited.delete(eventId)) this.sampled -= 1;
  }

  #onScore(user: string | null, value: string): void {
    this.scoresSeen += 1;
    if (user !== null) this.latestByUser.set(user, value);
    const eventId = value.slice(EVENT_ID_AT, value.indexOf('"', EVENT_ID_AT));
    const scheduled = this.#awaited.get(eventId);
    if (scheduled === undefined) return;
    this.#awaited.delete(eventId);
    this.emitted.push(performance.now() - scheduled);
    this.#confirms.push(this.#confirm(eventId, scheduled));
  }

  /** GETs until 200; a failed request (e.g. a keep-alive socket the server just closed) is retried. */
  async #confirm(eventId: string, scheduled: number): Promise<void> {
    for (let attempt = 0; attempt < 2_000; attempt += 1) {
      const res = await this.#lookup.get(`/v1/scores/${eventId}`).catch(() => ({ status: 0 }));
      if (res.status === 200) {
        this.visible.push(performance.now() - scheduled);
        this.timeline.push([scheduled, performance.now() - scheduled]);
        return;
      }
      this.lookupRetries += 1;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /**
   * Samples still unseen are counted in `visible` with the time waited for them (lower bounds)
   * and forgotten; returns how many.
   */
  giveUp(): number {
    const now = performance.now();
    const missing = this.#awaited.size;
    for (const scheduled of this.#awaited.values()) {
      this.visible.push(now - scheduled);
      this.timeline.push([scheduled, now - scheduled]);
    }
    this.#awaited.clear();
    return missing;
  }

  /**
   * Stops the tail. readTopic ends when a record's callback says so, so `nudge` (an unmeasured
   * event sent through the API) is called until one more score arrives.
   */
  async close(nudge: (n: number) => Promise<void>): Promise<void> {
    this.#stop = () => true;
    for (let n = 0; !this.#done; n += 1) {
      await nudge(n);
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(this.#confirms);
  }
}
