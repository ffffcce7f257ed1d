/**
 * Batch job: rebuild the user–device–merchant graph from the bronze events of the lookback
 * window and publish each user's ring score and component size for the user actors
 * (src/analytics/graph.ts holds the analysis). Idempotent: the snapshot id is the job's as-of
 * time, and the same events and labels give the same snapshot.
 */
import { analysePaymentGraph, graphContexts, graphNeighbours } from '../analytics/graph.ts';
import type { GraphPublisher, JobContext, LabelReader, LakeReader } from './ports.ts';

export interface GraphRebuildInput {
  /** Event time looked back from the job's as-of time. */
  readonly lookbackMs: number;
  /** Rows that reached Kafka in the last this-many ms before the as-of time wait for the next run. */
  readonly settleMs?: number;
}

export interface GraphRebuildResult {
  snapshotId: string;
  events: number;
  users: number;
  usersWithContext: number;
  components: number;
  largestComponentUsers: number;
  communities: number;
  ringUsers: number;
  knownFraudUsers: number;
  /** Labels known at the as-of time (read from the labels topic). */
  labels: number;
}

export interface GraphRebuildPorts {
  readonly lake: LakeReader;
  readonly labels: LabelReader;
  readonly graph: GraphPublisher;
}

/** A user counts as a ring member above this score (for the summary only). */
const RING_SUMMARY_THRESHOLD = 0.5;

export async function runGraphRebuild(
  ports: GraphRebuildPorts,
  input: GraphRebuildInput,
  ctx: JobContext,
): Promise<GraphRebuildResult> {
  const events = await ports.lake.events({ fromMs: ctx.asOfMs - input.lookbackMs, toMs: ctx.asOfMs, arrivedBeforeMs: ctx.asOfMs - (input.settleMs ?? 0) });
  await ctx.progress(40);
  // Only labels known at the as-of time count, so a rerun of an old job is the same rebuild.
  const fraud = new Set<string>();
  let labels = 0;
  for (const l of await ports.labels.labels()) {
    if (l.label_ts_ms > ctx.asOfMs) continue;
    labels += 1;
    if (l.label === 'fraud') fraud.add(l.user_id);
  }
  await ctx.progress(50);
  const analysis = analysePaymentGraph(events, fraud, { centrality: false });
  const contexts = graphContexts(analysis);
  await ctx.progress(80);
  const result: GraphRebuildResult = {
    snapshotId: String(ctx.asOfMs),
    events: events.length,
    users: Object.keys(analysis.users).length,
    usersWithContext: Object.keys(contexts).length,
    components: analysis.components,
    largestComponentUsers: analysis.largestComponentUsers,
    communities: analysis.communities,
    ringUsers: Object.values(contexts).filter((c) => c.ringScore >= RING_SUMMARY_THRESHOLD).length,
    knownFraudUsers: fraud.size,
    labels,
  };
  const { snapshotId, ...summary } = result;
  await ports.graph.publish({ id: snapshotId, builtAtMs: ctx.asOfMs, contexts, neighbours: graphNeighbours(analysis), summary });
  await ctx.progress(100);
  return result;
}
