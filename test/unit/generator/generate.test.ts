import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../../src/contract/event.ts';
import { generateTraffic, generatorOptions } from '../../../src/generator/generate.ts';
import { COUNTRIES } from '../../../src/generator/population.ts';
import { Prng } from '../../../src/generator/prng.ts';
import { LATE_MARGIN_MS, LATE_WARMUP_MS } from '../../../src/generator/schedule.ts';
import { parseTruth, truthLines } from '../../../src/generator/truth.ts';

const digest = (seed: string, events: number) => {
  const h = createHash('sha256');
  for (const line of truthLines(generateTraffic(generatorOptions({ seed, events }))))
    h.update(line).update('\n');
  return h.digest('hex');
};

describe('Prng', () => {
  it('is deterministic and roughly uniform', () => {
    const a = new Prng('s');
    const b = new Prng('s');
    const xs = Array.from({ length: 10_000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 10_000 }, () => b.next()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    expect(new Prng('t').next()).not.toBe(new Prng('s').next());
  });
});

describe('generateTraffic', () => {
  const N = 30_000;
  const lateness = 20 * 60_000;
  const traffic = generateTraffic(generatorOptions({ seed: 'unit', events: N }));
  const { emissions } = traffic;
  const originals = emissions.filter((e) => e.truth.duplicate_of === null);

  it('same seed → identical truth file; other seed → different', () => {
    expect(digest('d1', 5_000)).toBe(digest('d1', 5_000));
    expect(digest('d1', 5_000)).not.toBe(digest('d2', 5_000));
  });

  it('an entity prefix gives a run user and device ids of its own, and changes nothing else', () => {
    const plain = generateTraffic(generatorOptions({ seed: 'ent', events: 2_000 }));
    const prefixed = generateTraffic(generatorOptions({ seed: 'ent', events: 2_000, entityPrefix: 'r7' }));
    expect(prefixed.emissions).toHaveLength(plain.emissions.length);
    prefixed.emissions.forEach((e, i) => {
      const p = plain.emissions[i]!.event;
      expect(e.event.user_id).toBe(`r7${p.user_id}`);
      expect(e.event.device_id).toBe(p.device_id === undefined ? undefined : `r7${p.device_id}`);
      expect({ ...e.event, user_id: p.user_id, device_id: p.device_id }).toEqual(p);
    });
    const other = generateTraffic(generatorOptions({ seed: 'ent2', events: 2_000, entityPrefix: 'r8' }));
    const ids = (t: typeof plain) => new Set(t.emissions.flatMap((e) => [e.event.user_id, e.event.device_id ?? '']));
    expect([...ids(other)].filter((id) => id !== '' && ids(prefixed).has(id))).toEqual([]);
  });

  it('emits exactly N unique, contract-valid events with unique ids', () => {
    expect(originals).toHaveLength(N);
    expect(new Set(originals.map((e) => e.event.event_id)).size).toBe(N);
    const bad = originals.filter(
      (e) => !validateEvent(e.event, { nowMs: Date.UTC(2030, 0), maxFutureSkewMs: 0 }).ok,
    );
    expect(bad).toHaveLength(0);
  });

  it('duplicates are exact copies of an earlier emission at ~1%', () => {
    const dups = emissions.filter((e) => e.truth.duplicate_of !== null);
    expect(dups.length / N).toBeGreaterThan(0.008);
    expect(dups.length / N).toBeLessThan(0.012);
    for (const d of dups) {
      const original = emissions[d.truth.duplicate_of!]!;
      expect(d.truth.seq).toBeGreaterThan(original.truth.seq);
      expect(JSON.stringify(d.event)).toBe(JSON.stringify(original.event));
    }
  });

  it('late, out-of-order and on-time events respect their definitions (clock = max ts so far)', () => {
    let maxTs = Number.NEGATIVE_INFINITY;
    const counts = { late: 0, ooo: 0 };
    const start = traffic.options.startMs;
    for (const e of emissions) {
      const behind = maxTs - e.event.ts_ms; // how far behind the stream this emission is
      if (e.truth.late) {
        counts.late += 1;
        expect(behind).toBeGreaterThanOrEqual(lateness + LATE_MARGIN_MS);
        expect(maxTs - start).toBeGreaterThanOrEqual(LATE_WARMUP_MS);
      } else if (e.truth.duplicate_of === null) {
        expect(behind).toBeLessThan(5 * 60_000); // never late
        if (!e.truth.out_of_order) expect(behind).toBeLessThanOrEqual(0);
      }
      if (e.truth.out_of_order) counts.ooo += 1;
      maxTs = Math.max(maxTs, e.event.ts_ms);
    }
    expect(counts.late / N).toBeGreaterThan(0.0015);
    expect(counts.late / N).toBeLessThan(0.0025);
    expect(counts.ooo / N).toBeGreaterThan(0.017);
    expect(counts.ooo / N).toBeLessThan(0.023);
  });

  it('plants card testing: bursts of ≥ 20 tiny, mostly failed events on one merchant within 10 minutes', () => {
    const ct = originals.filter((e) => e.truth.pattern === 'card_testing');
    const byMerchant = Map.groupBy(ct, (e) => e.event.merchant_id);
    expect(byMerchant.size).toBeGreaterThanOrEqual(1);
    for (const evs of byMerchant.values()) {
      expect(evs.length).toBeGreaterThanOrEqual(20);
      expect(evs.every((e) => e.event.amount <= 3)).toBe(true);
      expect(evs.filter((e) => e.event.status === 'failed').length / evs.length).toBeGreaterThan(0.4);
      expect(new Set(evs.map((e) => e.event.user_id)).size).toBeLessThanOrEqual(
        3 * Math.ceil(evs.length / 20),
      );
    }
    const first = ct[0]!.event;
    const burst = ct.filter(
      (e) => e.event.merchant_id === first.merchant_id && Math.abs(e.event.ts_ms - first.ts_ms) < 10 * 60_000,
    );
    expect(burst.length).toBeGreaterThanOrEqual(20);
  });

  it('plants rings: ≥ 4 users sharing a device that no legit event uses', () => {
    const ring = originals.filter((e) => e.truth.pattern === 'ring');
    const usersByDevice = new Map<string, Set<string>>();
    for (const e of ring) {
      const set = usersByDevice.get(e.event.device_id!) ?? new Set();
      set.add(e.event.user_id);
      usersByDevice.set(e.event.device_id!, set);
    }
    expect(Math.max(...[...usersByDevice.values()].map((s) => s.size))).toBeGreaterThanOrEqual(4);
    const legitDevices = new Set(originals.filter((e) => !e.truth.is_fraud).map((e) => e.event.device_id));
    expect([...usersByDevice.keys()].some((d) => legitDevices.has(d))).toBe(false);
  });

  it('plants account takeover: new device + new country + amount far above the user history', () => {
    const ato = originals.filter((e) => e.truth.pattern === 'ato');
    expect(ato.length).toBeGreaterThanOrEqual(6);
    for (const a of ato) {
      const before = originals.filter(
        (e) => e.event.user_id === a.event.user_id && e.event.ts_ms < a.event.ts_ms && !e.truth.is_fraud,
      );
      expect(before.length).toBeGreaterThanOrEqual(3);
      expect(before.some((e) => e.event.device_id === a.event.device_id)).toBe(false);
      expect(before.some((e) => e.event.country === a.event.country)).toBe(false);
      const usd = (amount: number, currency: string) =>
        amount / COUNTRIES.find((c) => c.currency === currency)!.perUsd;
      const meanUsd = before.reduce((s, e) => s + usd(e.event.amount, e.event.currency), 0) / before.length;
      expect(usd(a.event.amount, a.event.currency)).toBeGreaterThanOrEqual(5 * meanUsd);
    }
  });

  it('plants merchant volume anomalies ≥ 5× the merchant baseline in their hour', () => {
    expect(traffic.anomalies.length).toBeGreaterThanOrEqual(1);
    for (const a of traffic.anomalies) {
      const inHour = originals.filter(
        (e) =>
          e.event.merchant_id === a.merchant_id && e.event.ts_ms >= a.start_ms && e.event.ts_ms < a.end_ms,
      );
      expect(inHour.filter((e) => e.truth.anomaly === a.anomaly)).toHaveLength(a.extra_events);
      expect(inHour.length).toBeGreaterThanOrEqual(5 * a.baseline_per_hour);
    }
  });

  it('labels every fraud event later, and some legit ones; labels are delayed', () => {
    const fraudIds = new Set(originals.filter((e) => e.truth.is_fraud).map((e) => e.event.event_id));
    const labels = traffic.labels.map((l) => l.label);
    expect(new Set(labels.filter((l) => l.label === 'fraud').map((l) => l.event_id))).toEqual(fraudIds);
    const legit = labels.filter((l) => l.label === 'legit');
    expect(legit.length / N).toBeGreaterThan(0.01);
    expect(legit.every((l) => !fraudIds.has(l.event_id))).toBe(true);
    expect(labels.every((l) => l.label_ts_ms - l.event_ts_ms >= 3_600_000)).toBe(true);
    for (const { afterEmissions, label } of traffic.labels) {
      if (afterEmissions > 0)
        expect(emissions[afterEmissions - 1]!.clock_ms).toBeLessThanOrEqual(label.label_ts_ms);
    }
  });

  it('truth file round-trips', () => {
    const parsed = parseTruth([...truthLines(traffic)].join('\n'));
    expect(parsed.emissions).toHaveLength(emissions.length);
    expect(parsed.emissions[123]).toEqual(emissions[123]);
    expect(parsed.labels).toHaveLength(traffic.labels.length);
  });
});
