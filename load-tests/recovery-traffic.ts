/**
 * The recovery benchmark's input: counter events (src/actors/counter) produced at a steady rate
 * while workers are killed, and the brute-force oracle of what the counting actor must end with.
 *
 * Each event is recorded in the oracle only once Kafka acknowledged it (acks=all, idempotent
 * producer); a send that fails ends the benchmark, since its events' fate is unknown. A share of
 * the events are re-sent copies of earlier ones (same id, so they must not count) and a share
 * carry an event time up to 30 s in the past (out of order, well inside the allowed lateness).
 */
import type { Producer } from 'kafkajs';
import { Prng } from '../src/generator/prng.ts';

export interface TrafficOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly eventsPerSecond: number;
  readonly keys: number;
  readonly duplicateRate: number;
  readonly seed: number;
}

interface Sent {
  readonly id: string;
  readonly k: string;
  readonly ts: number;
  readonly v: number;
}

const TICK_MS = 20;

export class LiveTraffic {
  readonly #o: TrafficOptions;
  readonly #producer: Producer;
  readonly #rng: Prng;
  /** Oracle: per key, count and sum of distinct acknowledged event ids. */
  readonly counts = new Map<string, { count: number; sum: number }>();
  readonly #seen = new Set<string>();
  readonly #recent: Sent[] = [];
  #sequence = 0;
  #stopped = false;
  #loop: Promise<void> | undefined;
  sent = 0;
  duplicates = 0;

  constructor(producer: Producer, options: TrafficOptions) {
    this.#producer = producer;
    this.#o = options;
    this.#rng = new Prng(options.seed);
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Stops after the batch in flight; rejects if any send failed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  async #run(): Promise<void> {
    const began = Date.now();
    let due = 0;
    while (!this.#stopped) {
      const target = Math.floor(((Date.now() - began) / 1000) * this.#o.eventsPerSecond);
      const batch: Sent[] = [];
      while (due < target) {
        batch.push(this.#next());
        due += 1;
      }
      if (batch.length > 0) await this.#send(batch);
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  }

  #next(): Sent {
    const r = this.#rng.next();
    if (r < this.#o.duplicateRate && this.#recent.length > 0) {
      this.duplicates += 1;
      return this.#recent[Math.floor(this.#rng.next() * this.#recent.length)]!;
    }
    this.#sequence += 1;
    const back = r < this.#o.duplicateRate + 0.1 ? Math.floor(this.#rng.next() * 30_000) : 0;
    const event = {
      id: `r${this.#o.seed}-${this.#sequence}`, k: `k${Math.floor(this.#rng.next() * this.#o.keys)}`, ts: Date.now() - back,
      v: Math.floor(this.#rng.next() * 1_000),
    };
    this.#recent.push(event);
    if (this.#recent.length > 5_000) this.#recent.splice(0, 1_000);
    return event;
  }

  async #send(batch: readonly Sent[]): Promise<void> {
    const messages = batch.map((e) => ({ key: e.k, value: JSON.stringify(e), partition: partitionOf(e.k, this.#o.partitions) }));
    await this.#producer.send({ topic: this.#o.topic, acks: -1, messages });
    this.sent += batch.length;
    for (const e of batch) {
      if (this.#seen.has(e.id)) continue;
      this.#seen.add(e.id);
      const c = this.counts.get(e.k) ?? { count: 0, sum: 0 };
      this.counts.set(e.k, { count: c.count + 1, sum: c.sum + e.v });
    }
  }
}

/** The partition of a key (31-multiplier string hash), chosen here so the oracle needs no Kafka. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i += 1) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  return h % partitions;
}
