/**
 * The batch jobs with their settings from the frozen config: what src/cli/batch.ts schedules.
 */
import type { RiskModel } from '../analytics/model.ts';
import type { Config } from '../runtime/config.ts';
import { runGraphRebuild } from './graph-rebuild.ts';
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
}

export interface BatchJobDefinition {
  readonly name: JobName;
  readonly everyMs: number;
  readonly run: (ctx: JobContext) => Promise<unknown>;
}

export function batchJobs(config: Pick<Config, 'batch' | 'runtime'>, ports: BatchPorts): BatchJobDefinition[] {
  const b = config.batch;
  return [
    {
      name: 'graph-rebuild',
      everyMs: b.graphRebuildEveryMs,
      run: (ctx) => runGraphRebuild(ports, { lookbackMs: b.graphLookbackMs }, ctx),
    },
    {
      name: 'model-retrain',
      everyMs: b.retrainEveryMs,
      run: (ctx) =>
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
    },
    {
      name: 'merchant-anomalies',
      everyMs: b.anomaliesEveryMs,
      run: (ctx) => runMerchantAnomalies(ports, { lookbackDays: b.anomaliesLookbackDays, zThreshold: b.anomaliesZThreshold }, ctx),
    },
    {
      name: 'quality-check',
      everyMs: b.qualityEveryMs,
      run: (ctx) => runQualityCheck(ports, { lookbackMs: b.qualityLookbackMs, alertBelow: b.qualityAlertBelow }, ctx),
    },
  ];
}
