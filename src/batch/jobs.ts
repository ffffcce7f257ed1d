/**
 * The batch jobs with their settings from the frozen config: what src/cli/batch.ts schedules.
 */
import type { RiskModel } from '../analytics/model.ts';
import { decodeEvent } from '../contract/wire.ts';
import { RiskstreamError } from '../runtime/errors.ts';
import type { Config } from '../runtime/config.ts';
import { type DlqReplayPorts, runDlqReplay } from './dlq-replay.ts';
import { runGraphRebuild } from './graph-rebuild.ts';
import { type LineageDataset, type LineageSink, withLineage } from './lineage.ts';
import { runMerchantAnomalies } from './merchant-anomalies.ts';
import { runModelRetrain } from './model-retrain.ts';
import { runCurate } from './curate.ts';
import { CURATED_TABLES, type CuratedLake, type GraphPublisher, type JobContext, type LabelReader, type LakeReader, type ModelStore, type ReportStore } from './ports.ts';
import { runQualityCheck } from './quality-check.ts';

/** Null when a payment event passes the current contract, else why not (code and message). */
export function contractProblem(value: Buffer): string | null {
  try {
    decodeEvent(value);
    return null;
  } catch (err) {
    return err instanceof RiskstreamError ? `${err.code}: ${err.message}` : String(err);
  }
}

export const JOB_NAMES = ['graph-rebuild', 'model-retrain', 'merchant-anomalies', 'quality-check', 'curate', 'dlq-replay'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface BatchPorts {
  readonly lake: LakeReader;
  readonly curated: CuratedLake;
  readonly labels: LabelReader;
  readonly graph: GraphPublisher;
  readonly models: ModelStore;
  readonly reports: ReportStore;
  readonly fallbackModel: RiskModel;
  readonly lineage: LineageSink;
  readonly dlq: Pick<DlqReplayPorts, 'dlq' | 'republish' | 'cursors'> & {
    /** Full names of the DLQ topics by kind, and of the topics letters may go back to. */
    readonly topics: { readonly invalid: string; readonly processing: string; readonly late: string };
    readonly targets: ReadonlySet<string>;
    readonly validate: (value: Buffer) => string | null;
    /** Namespace of the Kafka topics in lineage. */
    readonly namespace: string;
  };
  /** How lineage names the datasets (OpenLineage namespace and name conventions). */
  readonly datasets: {
    /** The bronze lake: namespace `file`, its absolute path. */
    readonly lake: { namespace: string; name: string };
    /** The curated layer and the dimension tables: namespace `file`, their absolute paths. */
    readonly curated: { namespace: string; name: string };
    readonly dimensions: { namespace: string; name: string };
    /** The labels topic: namespace `kafka://<broker>`, the topic. */
    readonly labels: { namespace: string; name: string };
    /** Redis: namespace `redis://<host:port>`; names are keys under the prefix. */
    readonly redis: { namespace: string; keyPrefix: string };
  };
  readonly now: () => number;
}

export interface BatchJobDefinition {
  readonly name: JobName;
  readonly everyMs: number;
  readonly run: (ctx: JobContext) => Promise<unknown>;
}

export function batchJobs(config: Pick<Config, 'batch' | 'runtime'>, ports: BatchPorts): BatchJobDefinition[] {
  const b = config.batch;
  const d = ports.datasets;
  const lake = (rows: number): LineageDataset => ({ ...d.lake, rows });
  const labels = (rows: number): LineageDataset => ({ ...d.labels, rows });
  const redis = (key: string, rows: number): LineageDataset => ({ namespace: d.redis.namespace, name: `${d.redis.keyPrefix}:${key}`, rows });
  const traced = <R>(name: JobName, everyMs: number, run: (ctx: JobContext) => Promise<R>, describe: (r: R) => { inputs: LineageDataset[]; outputs: LineageDataset[] }): BatchJobDefinition => ({
    name,
    everyMs,
    run: withLineage(name, run, describe, ports.lineage, ports.now),
  });
  return [
    traced(
      'graph-rebuild',
      b.graphRebuildEveryMs,
      (ctx) => runGraphRebuild(ports, { lookbackMs: b.graphLookbackMs, settleMs: b.lakeSettleMs }, ctx),
      (r) => ({ inputs: [lake(r.events), labels(r.labels)], outputs: [redis(`graph:v:${r.snapshotId}`, r.usersWithContext)] }),
    ),
    traced(
      'model-retrain',
      b.retrainEveryMs,
      (ctx) =>
        runModelRetrain(
          { ...ports, fallback: ports.fallbackModel },
          {
            lookbackMs: b.retrainLookbackMs,
            labelMaturityMs: b.retrainLabelMaturityMs,
            minAucGain: b.retrainMinAucGain,
            minTestPositives: b.retrainMinTestPositives,
            allowedLatenessMs: config.runtime.allowedLatenessMs,
            negativeSampleRate: b.retrainNegativeSampleRate,
            settleMs: b.lakeSettleMs,
          },
          ctx,
        ),
      (r) => ({
        inputs: [lake(r.rows), labels(r.labels)],
        outputs: r.report === null ? [redis('batch:report:model-retrain', 1)] : [redis(`models:v:${r.version}`, 1), redis('batch:report:model-retrain', 1)],
      }),
    ),
    traced(
      'merchant-anomalies',
      b.anomaliesEveryMs,
      (ctx) => runMerchantAnomalies(ports, { lookbackDays: b.anomaliesLookbackDays, zThreshold: b.anomaliesZThreshold, settleMs: b.lakeSettleMs }, ctx),
      (r) => ({ inputs: [lake(r.events)], outputs: [redis('batch:report:merchant-anomalies', r.anomalies.length)] }),
    ),
    traced(
      'dlq-replay',
      b.dlqReplayEveryMs,
      (ctx) => {
        const wanted = ctx.params?.topic;
        const kinds = (['invalid', 'processing', 'late'] as const).filter((k) => (wanted === undefined ? k !== 'late' : ports.dlq.topics[k].endsWith(wanted)));
        if (kinds.length === 0) throw new Error(`dlq-replay: unknown DLQ topic "${wanted}" (dlq.invalid or dlq.processing)`);
        return runDlqReplay(
          { ...ports.dlq, reports: ports.reports },
          { topics: kinds.map((kind) => ({ name: ports.dlq.topics[kind], kind })), targets: ports.dlq.targets, validate: ports.dlq.validate },
          ctx,
        );
      },
      (r) => ({
        inputs: r.topics.map((t) => ({ namespace: ports.dlq.namespace, name: t.topic, rows: t.read })),
        outputs: [...new Set(r.topics.flatMap((t) => Object.keys(t.replayedTo)))].sort().map((name) => ({
          namespace: ports.dlq.namespace,
          name,
          rows: r.topics.reduce((sum, t) => sum + (t.replayedTo[name] ?? 0), 0),
        })),
      }),
    ),
    traced(
      'curate',
      b.curateEveryMs,
      (ctx) =>
        runCurate(
          ports,
          { rebuildDays: b.curateRebuildDays, contextDays: b.curateContextDays, keepSnapshots: b.curatedKeepSnapshots, settleMs: b.lakeSettleMs },
          ctx,
        ),
      (r) => ({
        inputs: [
          lake(r.eventsRead),
          ...(['merchants', 'users', 'fx_rates'] as const).map((t) => ({ namespace: d.dimensions.namespace, name: `${d.dimensions.name}/${t}`, rows: r.dimensions[t] })),
        ],
        outputs: CURATED_TABLES.map((t) => ({ namespace: d.curated.namespace, name: `${d.curated.name}/${t}`, rows: r.rows[t] })),
      }),
    ),
    traced(
      'quality-check',
      b.qualityEveryMs,
      (ctx) => runQualityCheck(ports, { lookbackMs: b.qualityLookbackMs, alertBelow: b.qualityAlertBelow, settleMs: b.lakeSettleMs }, ctx),
      (r) => ({
        inputs: [lake(r.rows), ...r.layers.map((l) => ({ namespace: d.curated.namespace, name: `${d.curated.name}/payments`, rows: l.rows }))],
        outputs: [redis('batch:report:quality-check', r.results.length + r.layers.reduce((n, l) => n + l.results.length, 0))],
      }),
    ),
  ];
}
