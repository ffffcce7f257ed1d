import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GraphRebuildResult } from './graph-rebuild.ts';
import type { MerchantAnomaliesResult } from './merchant-anomalies.ts';
import type { ModelRetrainResult } from './model-retrain.ts';

/**
 * The batch process's metrics: job runs and durations, and each job's headline result. The job
 * kind is the label `batch_job`: `job` is Prometheus's own target label.
 */
export function createBatchMetrics(registry: Registry) {
  const registers = [registry];
  const p = 'riskstream_batch_';
  const runs = new Counter({ name: `${p}job_runs_total`, help: 'Batch job attempts by outcome', labelNames: ['batch_job', 'outcome'], registers });
  const seconds = new Histogram({ name: `${p}job_duration_seconds`, help: 'Batch job attempt duration', labelNames: ['batch_job', 'outcome'], buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600], registers });
  const interval = new Gauge({ name: `${p}job_interval_seconds`, help: 'Configured schedule of each job (0: on demand only)', labelNames: ['batch_job'], registers });
  const lastSuccess = new Gauge({ name: `${p}job_last_success_timestamp_seconds`, help: 'When each job last completed (unix seconds)', labelNames: ['batch_job'], registers });
  const quality = new Gauge({ name: `${p}quality_score`, help: 'Latest data-quality score (0-100) per layer', labelNames: ['layer'], registers });
  const qualityAlertBelow = new Gauge({ name: `${p}quality_alert_below`, help: 'Quality score below which the layer fails its check', labelNames: ['layer'], registers });
  const ringUsers = new Gauge({ name: `${p}graph_ring_users`, help: 'Users with a ring score of at least 0.5 in the latest graph snapshot', registers });
  const contextUsers = new Gauge({ name: `${p}graph_users_with_context`, help: 'Users in a shared-device component in the latest graph snapshot', registers });
  const anomalies = new Gauge({ name: `${p}merchant_anomalies`, help: 'Merchant-days flagged in the latest time-series run', registers });
  const promotions = new Counter({ name: `${p}model_promotions_total`, help: 'Retrained models promoted', registers });
  const candidateAuc = new Gauge({ name: `${p}model_candidate_auc`, help: 'Held-out AUC of the latest retrained model', registers });
  const baselineAuc = new Gauge({ name: `${p}model_baseline_auc`, help: 'Held-out AUC of the model it was compared with', registers });

  return {
    scheduled(job: string, everyMs: number): void {
      interval.set({ batch_job: job }, everyMs / 1000);
    },
    finished(job: string, outcome: 'completed' | 'failed', s: number, result: unknown, nowMs: number): void {
      runs.inc({ batch_job: job, outcome });
      seconds.observe({ batch_job: job, outcome }, s);
      if (outcome !== 'completed') return;
      lastSuccess.set({ batch_job: job }, nowMs / 1000);
      if (job === 'quality-check') {
        const r = result as { layer: string; score: number; alertBelow: number; layers?: { layer: string; score: number; alertBelow: number }[] };
        for (const l of [r, ...(r.layers ?? [])]) {
          quality.set({ layer: l.layer }, l.score);
          qualityAlertBelow.set({ layer: l.layer }, l.alertBelow);
        }
      } else if (job === 'graph-rebuild') {
        const r = result as GraphRebuildResult;
        ringUsers.set(r.ringUsers);
        contextUsers.set(r.usersWithContext);
      } else if (job === 'merchant-anomalies') {
        anomalies.set((result as MerchantAnomaliesResult).anomalies.length);
      } else if (job === 'model-retrain') {
        const r = result as ModelRetrainResult;
        if (r.promoted) promotions.inc();
        if (r.report) {
          candidateAuc.set(r.report.auc);
          if (r.report.baselineAuc !== undefined) baselineAuc.set(r.report.baselineAuc);
        }
      }
    },
  };
}
