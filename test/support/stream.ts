import type { InputRecord } from '../../src/runtime/source.ts';
import { type Msg, prng } from './counting-actor.ts';

export interface StreamOptions {
  readonly seed: number;
  readonly events: number;
  readonly keys: number;
  readonly partitions: number;
  readonly duplicateRate: number;
  readonly outOfOrderRate: number;
  readonly lateRate: number;
  readonly lateByMs: number;
  readonly startMs?: number;
  readonly stepMs?: number;
}

/** Deterministic test stream (with duplicates, out-of-order and late events), split by partition. */
export function makeStream(o: StreamOptions): Map<number, Msg[]> {
  const rand = prng(o.seed);
  const byPartition = new Map<number, Msg[]>();
  let now = o.startMs ?? 1_700_000_000_000;
  const emitted: Msg[] = [];
  for (let i = 0; i < o.events; i += 1) {
    now += o.stepMs ?? 10;
    const r = rand();
    let msg: Msg;
    if (r < o.duplicateRate && emitted.length > 0) {
      msg = emitted[Math.floor(rand() * emitted.length)]!;
    } else {
      const k = `k${Math.floor(rand() * o.keys)}`;
      let ts = now;
      if (r < o.duplicateRate + o.outOfOrderRate) ts = now - Math.floor(rand() * 60_000);
      else if (r < o.duplicateRate + o.outOfOrderRate + o.lateRate) ts = now - o.lateByMs;
      msg = { id: `e${i}`, k, ts, v: Math.floor(rand() * 1000) };
      emitted.push(msg);
    }
    const p = partitionOf(msg.k, o.partitions);
    let list = byPartition.get(p);
    if (!list) {
      list = [];
      byPartition.set(p, list);
    }
    list.push(msg);
  }
  return byPartition;
}

export function partitionOf(key: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i += 1) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  return h % partitions;
}

export function toRecords(partition: number, msgs: readonly Msg[], baseOffset = 0): InputRecord[] {
  return msgs.map((m, i) => ({
    partition,
    offset: String(baseOffset + i),
    key: Buffer.from(m.k),
    value: Buffer.from(JSON.stringify(m)),
  }));
}

export interface Expected {
  readonly counts: Map<string, { count: number; sum: number }>;
  readonly late: number;
  readonly duplicates: number;
}

/**
 * Brute-force oracle, written independently of the runtime: one clean pass per partition in
 * offset order with the documented semantics (late = event time below max seen − lateness,
 * checked before dedup; duplicates by id never count).
 */
export function expectedCounts(stream: Map<number, Msg[]>, latenessMs: number): Expected {
  const counts = new Map<string, { count: number; sum: number }>();
  let late = 0;
  let duplicates = 0;
  for (const msgs of stream.values()) {
    let maxTs = Number.NEGATIVE_INFINITY;
    const seen = new Set<string>();
    for (const m of msgs) {
      if (m.ts < maxTs - latenessMs) {
        late += 1;
        continue;
      }
      if (seen.has(m.id)) {
        duplicates += 1;
        continue;
      }
      seen.add(m.id);
      maxTs = Math.max(maxTs, m.ts);
      const c = counts.get(m.k) ?? { count: 0, sum: 0 };
      counts.set(m.k, { count: c.count + 1, sum: c.sum + m.v });
    }
  }
  return { counts, late, duplicates };
}
