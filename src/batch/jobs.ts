/**
 * The batch jobs with their settings from the frozen config: what src/cli/batch.ts schedules.
 */
import type { RiskModel } from '../analytics/model.ts';
import type { Config } from '../runtime/config.ts';
import { runGraphRebuild } from './graph-rebuild.ts';
import { type LineageDataset, type LineageSink, withLineage } from './lineage.ts';
import { runMerchantAnomalies } from './merchant-anomalies.ts';
import { runModelRetrain } from './model-retrain.ts';
import type { GraphPublisher, JobContext, LabelReader, LakeReader, ModelStore, ReportStore } from './ports.ts';
import { runQualityCheck } from './quality-check.ts';

export const JOB_NAMES = ['graph-rebuild', 'model-retrain', 'merchant-anomalies', 'quality-check'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface BatchPorts {
  readonly lake: LakeReader;
  readonly labels: LabelReader;
  readonly graph: GraphPublisher;
  readonly models: ModelStore;
  readonly reports: ReportStore;
  readonly fallbackModel: RiskModel;
  readonly lineage: LineageSink;
  /** How lineage names the datasets (OpenLineage namespace and name conventions). */
  readonly datasets: {
    /** The bronze lake: namespace `file`, its absolute path. */
    readonly lake: { namespace: string; name: string };
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
      (ctx) => runGraphRebuild(ports, { lookbackMs: b.graphLookbackMs }, ctx),
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
      (ctx) => runMerchantAnomalies(ports, { lookbackDays: b.anomaliesLookbackDays, zThreshold: b.anomaliesZThreshold }, ctx),
      (r) => ({ inputs: [lake(r.events)], outputs: [redis('batch:report:merchant-anomalies', r.anomalies.length)] }),
    ),
    traced(
      'quality-check',
      b.qualityEveryMs,
      (ctx) => runQualityCheck(ports, { lookbackMs: b.qualityLookbackMs, alertBelow: b.qualityAlertBelow }, ctx),
      (r) => ({ inputs: [lake(r.rows)], outputs: [redis('batch:report:quality-check', r.results.length)] }),
    ),
  ];
}
