import type { GeneratedTraffic } from './generate.ts';
import type { AnomalyTruth, Emission, EventTruth, GeneratedEvent, LabelRecord } from './types.ts';

/**
 * Ground-truth file (spec): JSON Lines, UTF-8, in this order:
 *   {"type":"meta", "version":1, "options":{...}, "emissions":N, "unique_events":U, "labels":L}
 *   {"type":"event", "event":{...as sent}, "truth":{seq,is_fraud,pattern,duplicate_of,late,out_of_order,anomaly}, "clock_ms":T}
 *        one per emission, in emission order (duplicates are their own lines, `duplicate_of`
 *        = seq of the first emission of the same event_id)
 *   {"type":"label", ...LabelRecord, "after_emissions":K}
 *   {"type":"anomaly", ...AnomalyTruth}
 * Expected answers (counts, sums, fraud sets) are computed from this file alone.
 */
export type TruthLine =
  | {
      type: 'meta';
      version: 1;
      options: GeneratedTraffic['options'];
      emissions: number;
      unique_events: number;
      labels: number;
    }
  | { type: 'event'; event: GeneratedEvent; truth: EventTruth; clock_ms: number }
  | ({ type: 'label'; after_emissions: number } & LabelRecord)
  | ({ type: 'anomaly' } & AnomalyTruth);

export function* truthLines(traffic: GeneratedTraffic): Generator<string> {
  const unique = traffic.emissions.filter((e) => e.truth.duplicate_of === null).length;
  yield JSON.stringify({
    type: 'meta',
    version: 1,
    options: traffic.options,
    emissions: traffic.emissions.length,
    unique_events: unique,
    labels: traffic.labels.length,
  });
  for (const e of traffic.emissions)
    yield JSON.stringify({ type: 'event', event: e.event, truth: e.truth, clock_ms: e.clock_ms });
  for (const l of traffic.labels)
    yield JSON.stringify({ type: 'label', ...l.label, after_emissions: l.afterEmissions });
  for (const a of traffic.anomalies) yield JSON.stringify({ type: 'anomaly', ...a });
}

/** Parses a truth file's text back (for tests and the e2e checker). */
export function parseTruth(text: string): {
  emissions: Emission[];
  labels: LabelRecord[];
  anomalies: AnomalyTruth[];
} {
  const emissions: Emission[] = [];
  const labels: LabelRecord[] = [];
  const anomalies: AnomalyTruth[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const parsed = JSON.parse(line) as TruthLine;
    if (parsed.type === 'event')
      emissions.push({ event: parsed.event, truth: parsed.truth, clock_ms: parsed.clock_ms });
    else if (parsed.type === 'label') {
      const { type: _t, after_emissions: _a, ...rest } = parsed;
      labels.push(rest);
    } else if (parsed.type === 'anomaly') {
      const { type: _t, ...rest } = parsed;
      anomalies.push(rest);
    }
  }
  return { emissions, labels, anomalies };
}
