import { plantAto, plantCardTesting, plantRings, plantVolumeAnomalies } from './fraud.ts';
import { buildPopulation, type Population } from './population.ts';
import { Prng } from './prng.ts';
import { emissionOrder, schedule } from './schedule.ts';
import { baseTraffic } from './traffic.ts';
import type { AnomalyTruth, DraftEvent, Emission, GeneratedEvent, LabelRecord } from './types.ts';

const HOUR_MS = 3_600_000;

/** Generator options; every default is documented. Compiled once into frozen options. */
export interface GeneratorOptions {
  /** Same seed (and options) → byte-identical output. */
  readonly seed: string;
  /** Unique events (duplicates come on top). */
  readonly events: number;
  /** Start of simulated event time. Default 2026-01-01T00:00Z (fixed: output must not depend on the clock). */
  readonly startMs: number;
  /** Simulated period. Default 2 days. */
  readonly periodMs: number;
  /** Default max(200, events / 40). */
  readonly users: number;
  /** Default clamp(events / 400, 20, 500). */
  readonly merchants: number;
  /** Share of unique events re-sent as exact duplicates. Default 1%. */
  readonly duplicateRate: number;
  /** Share emitted up to 4 min behind. Default 2%. */
  readonly outOfOrderRate: number;
  /** Share emitted > allowedLateness + 30 min behind. Default 0.2%. */
  readonly lateRate: number;
  /** The pipeline's allowed lateness (PRODUCT §3 default 20 min). */
  readonly allowedLatenessMs: number;
  /** Share of legitimate events that get a (delayed) "legit" label. Default 2%. */
  readonly legitLabelRate: number;
  /** Event ids are `<idPrefix>-<n>`. Default `g<seed>`. */
  readonly idPrefix: string;
  /** Prefix of user and device ids, for runs that must not share people (default none). */
  readonly entityPrefix: string;
}

export function generatorOptions(
  partial: Partial<GeneratorOptions> & { seed: string; events: number },
): Readonly<GeneratorOptions> {
  const events = partial.events;
  if (!Number.isInteger(events) || events < 100) throw new Error('events must be an integer ≥ 100');
  return Object.freeze({
    startMs: Date.UTC(2026, 0, 1),
    periodMs: 2 * 24 * HOUR_MS,
    users: Math.max(200, Math.round(events / 40)),
    merchants: Math.min(500, Math.max(20, Math.round(events / 400))),
    duplicateRate: 0.01,
    outOfOrderRate: 0.02,
    lateRate: 0.002,
    allowedLatenessMs: 20 * 60_000,
    legitLabelRate: 0.02,
    idPrefix: `g${partial.seed.replace(/[^A-Za-z0-9]/g, '')}`,
    entityPrefix: '',
    ...partial,
  });
}

export interface GeneratedTraffic {
  readonly options: Readonly<GeneratorOptions>;
  /** In emission order. */
  readonly emissions: Emission[];
  /** Labels, each with the number of emissions after which it is sent. */
  readonly labels: { readonly afterEmissions: number; readonly label: LabelRecord }[];
  readonly anomalies: AnomalyTruth[];
  /** The simulated world the traffic came from (for dimension tables: src/generator/dimensions.ts). */
  readonly population: Pick<Population, 'users' | 'merchants'>;
}

/** Generates the whole run in memory (≈ 0.5 KB per event). Pure and deterministic. */
export function generateTraffic(options: Readonly<GeneratorOptions>): GeneratedTraffic {
  const rng = new Prng(options.seed);
  const startMs = options.startMs;
  const endMs = startMs + options.periodMs;
  const pop = buildPopulation(rng.fork('population'), options.users, options.merchants, options.entityPrefix);
  const n = options.events;
  const bursts = Math.max(1, Math.round((n * 0.004) / 35));
  const rings = Math.max(1, Math.round(n / 40_000));
  const atos = Math.max(1, Math.round(n / 5_000));
  const anomalies = Math.max(1, Math.round(n / 50_000));
  const cardTesting = plantCardTesting(rng.fork('card'), pop, bursts, startMs, endMs);
  const ring = plantRings(rng.fork('ring'), pop, rings, startMs, endMs);
  // Base traffic first at its full planned size, so ATO and anomalies can look at history;
  // then trimmed so the unique total is exactly `events`.
  const planned = n - cardTesting.length - ring.length;
  const base = baseTraffic(rng.fork('base'), pop, planned, startMs, endMs);
  const ato = plantAto(rng.fork('ato'), pop, base, atos, endMs);
  const volume = plantVolumeAnomalies(rng.fork('volume'), pop, base, anomalies, startMs, endMs);
  const extra = ato.length + volume.events.length;
  if (extra + cardTesting.length + ring.length >= n)
    throw new Error(`too few events (${n}) for the planted patterns`);
  // Trim `extra` base events, never one of a taken-over user (their history is the point).
  const atoUsers = new Set(ato.map((e) => e.user_id));
  const kept: DraftEvent[] = [];
  let toDrop = extra;
  for (let i = base.length - 1; i >= 0; i -= 1) {
    const e = base[i]!;
    if (toDrop > 0 && !atoUsers.has(e.user_id)) toDrop -= 1;
    else kept.push(e);
  }
  const drafts: DraftEvent[] = [...kept, ...cardTesting, ...ring, ...ato, ...volume.events];
  drafts.sort((a, b) => a.ts_ms - b.ts_ms);
  const width = String(n).length;
  const events: GeneratedEvent[] = drafts.map((d, i) =>
    toEvent(d, `${options.idPrefix}-${String(i).padStart(width, '0')}`),
  );
  const slots = schedule(rng.fork('schedule'), drafts, options);
  const order = emissionOrder(slots);
  const seqOfSlot = new Map<number, number>();
  let clock = Number.NEGATIVE_INFINITY;
  const emissions: Emission[] = order.map((slotIndex, seq) => {
    seqOfSlot.set(slotIndex, seq);
    const slot = slots[slotIndex]!;
    const draft = drafts[slot.draft]!;
    clock = Math.max(clock, draft.ts_ms);
    return {
      event: events[slot.draft]!,
      clock_ms: clock,
      truth: {
        seq,
        is_fraud: draft.pattern !== null,
        pattern: draft.pattern,
        duplicate_of: slot.original === undefined ? null : seqOfSlot.get(slot.original)!,
        late: slot.kind === 'late',
        out_of_order: slot.kind === 'out_of_order',
        anomaly: draft.anomaly,
      },
    };
  });
  return {
    options,
    emissions,
    labels: planLabels(rng.fork('labels'), emissions, options),
    anomalies: volume.truth,
    population: { users: pop.users, merchants: pop.merchants },
  };
}

function toEvent(d: DraftEvent, eventId: string): GeneratedEvent {
  const { pattern: _p, anomaly: _a, ...fields } = d;
  return { event_id: eventId, ...fields };
}

/**
 * Delayed labels: every fraud event gets "fraud" 2–30 h after it happened (chargeback or
 * analyst confirmation); a sample of legitimate events gets "legit" 1–48 h later. A label is
 * sent once the generator's event clock reaches its time (or at the end of the run).
 */
function planLabels(rng: Prng, emissions: readonly Emission[], options: GeneratorOptions) {
  const labels: LabelRecord[] = [];
  for (const { event, truth } of emissions) {
    if (truth.duplicate_of !== null) continue;
    if (truth.is_fraud) {
      labels.push(label(event, 'fraud', event.ts_ms + rng.int(2 * HOUR_MS, 30 * HOUR_MS)));
    } else if (rng.chance(options.legitLabelRate)) {
      labels.push(label(event, 'legit', event.ts_ms + rng.int(HOUR_MS, 48 * HOUR_MS)));
    }
  }
  labels.sort((a, b) => a.label_ts_ms - b.label_ts_ms || (a.event_id < b.event_id ? -1 : 1));
  const clocks = emissions.map((e) => e.clock_ms);
  return labels.map((l) => ({ afterEmissions: upperBound(clocks, l.label_ts_ms), label: l }));
}

function label(event: GeneratedEvent, kind: 'fraud' | 'legit', at: number): LabelRecord {
  return {
    event_id: event.event_id,
    user_id: event.user_id,
    label: kind,
    label_ts_ms: at,
    event_ts_ms: event.ts_ms,
  };
}

/** Number of elements ≤ value in a non-decreasing array. */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
