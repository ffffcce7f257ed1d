/**
 * Builds a labelled training set by replaying a stream exactly as the user actors see it, so the
 * model is trained on the features scoring will compute (PRODUCT §3: "training later uses exactly
 * what scoring saw"): deduplication by event id, late events (older than the watermark) skipped,
 * out-of-order arrival kept, and graph features from a periodic rebuild that only knows the events
 * and fraud labels that existed at rebuild time (no look-ahead).
 */
import { analysePaymentGraph, type GraphEvent, type GraphOptions, graphContexts } from './graph.ts';
import {
  emptyUserState,
  featureVector,
  type GraphContext,
  observeUserEvent,
  type UserEvent,
  type UserFeatureConfig,
  type UserState,
} from './user-features.ts';

/** One emitted record with its ground truth. */
export interface TrainingStreamItem {
  readonly event: UserEvent & { readonly event_id: string; readonly user_id: string };
  readonly isFraud: boolean;
  /** Free label carried to the output (e.g. the planted pattern), for per-segment evaluation. */
  readonly tag?: string | undefined;
}

/** A confirmed label, known from `label_ts_ms` on. */
export interface KnownLabel {
  readonly user_id: string;
  readonly label: 'fraud' | 'legit';
  readonly label_ts_ms: number;
}

/** Options. */
export interface TrainingSetOptions {
  readonly features: UserFeatureConfig;
  /** Event time between graph rebuilds. */
  readonly graphRebuildEveryMs: number;
  readonly graph?: Partial<GraphOptions>;
}

/** Rows in stream order, with what is needed to split them. */
export interface TrainingSet {
  rows: number[][];
  labels: number[];
  userIds: string[];
  ts: number[];
  tags: (string | undefined)[];
  skippedLate: number;
  skippedDuplicates: number;
  graphRebuilds: number;
}

/** Replays `stream` (emission order) through fresh user states and returns one row per accepted event. */
export function buildTrainingSet(
  stream: Iterable<TrainingStreamItem>,
  labels: readonly KnownLabel[],
  opts: TrainingSetOptions,
): TrainingSet {
  const out: TrainingSet = {
    rows: [],
    labels: [],
    userIds: [],
    ts: [],
    tags: [],
    skippedLate: 0,
    skippedDuplicates: 0,
    graphRebuilds: 0,
  };
  const fraudByTime = labels.filter((l) => l.label === 'fraud').sort((a, b) => a.label_ts_ms - b.label_ts_ms);
  const states = new Map<string, UserState>();
  const seen = new Set<string>();
  const accepted: GraphEvent[] = [];
  let contexts: Record<string, GraphContext> = {};
  let maxTs = Number.NEGATIVE_INFINITY;
  let nextRebuild = Number.NaN;
  for (const { event, isFraud, tag } of stream) {
    if (seen.has(event.event_id)) {
      out.skippedDuplicates++;
      continue;
    }
    if (event.ts_ms < maxTs - opts.features.allowedLatenessMs) {
      out.skippedLate++;
      continue;
    }
    seen.add(event.event_id);
    maxTs = Math.max(maxTs, event.ts_ms);
    if (Number.isNaN(nextRebuild)) nextRebuild = maxTs + opts.graphRebuildEveryMs;
    if (maxTs >= nextRebuild) {
      // the rebuild runs "now" (stream clock): it sees the events so far and labels known by now
      const known = new Set<string>();
      for (const l of fraudByTime) {
        if (l.label_ts_ms > maxTs) break;
        known.add(l.user_id);
      }
      contexts = graphContexts(analysePaymentGraph(accepted, known, { ...opts.graph, centrality: false }));
      out.graphRebuilds++;
      while (nextRebuild <= maxTs) nextRebuild += opts.graphRebuildEveryMs;
    }
    accepted.push(event);
    let state = states.get(event.user_id);
    if (state === undefined) {
      state = emptyUserState();
      states.set(event.user_id, state);
    }
    const f = observeUserEvent(state, event, opts.features, contexts[event.user_id]);
    out.rows.push(featureVector(f));
    out.labels.push(isFraud ? 1 : 0);
    out.userIds.push(event.user_id);
    out.ts.push(event.ts_ms);
    out.tags.push(tag);
  }
  return out;
}
