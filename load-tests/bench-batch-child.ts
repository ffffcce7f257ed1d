/**
 * One batch job of bench:batch in a process of its own (so its peak RSS is its own): prints one
 * JSON line with its wall time, CPU time, peak RSS and a summary of its result.
 *   node --import tsx load-tests/bench-batch-child.ts <job> <lake dir> <labels.json> <as-of ms>
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDbCuratedLake } from '../src/adapters/duckdb/curated.ts';
import { runCurate } from '../src/batch/curate.ts';
import { BronzeLakeReader } from '../src/adapters/duckdb/bronze-reader.ts';
import { connectRedis, unlinkByPrefix } from '../src/adapters/redis/admin.ts';
import { RedisReportStore } from '../src/adapters/redis/batch-reports.ts';
import { RedisGraphStore } from '../src/adapters/redis/graph-store.ts';
import { RedisModelRegistry } from '../src/adapters/redis/model-registry.ts';
import { DEFAULT_MODEL } from '../src/analytics/default-model.ts';
import { runGraphRebuild } from '../src/batch/graph-rebuild.ts';
import { runMerchantAnomalies } from '../src/batch/merchant-anomalies.ts';
import { runModelRetrain } from '../src/batch/model-retrain.ts';
import type { JobContext } from '../src/batch/ports.ts';
import { runQualityCheck } from '../src/batch/quality-check.ts';
import type { FraudLabel } from '../src/contract/label.ts';
import { loadConfig } from '../src/runtime/config.ts';

const [job, lakeDir, labelsFile, asOf] = process.argv.slice(2);
const config = loadConfig(process.env);
const b = config.batch;
const prefix = `bench-batch-${process.pid}-${Date.now().toString(36)}`;
const redis = connectRedis(config.redis.url);
const labelList = JSON.parse(readFileSync(labelsFile as string, 'utf8')) as FraudLabel[];
const ports = {
  lake: new BronzeLakeReader(lakeDir as string),
  labels: { labels: async () => labelList },
  graph: new RedisGraphStore(redis, prefix),
  models: new RedisModelRegistry(redis, prefix),
  reports: new RedisReportStore(redis, prefix),
};
const ctx: JobContext = { asOfMs: Number(asOf), progress: async () => undefined, log: async () => undefined };

let peak = process.memoryUsage().rss;
const rssBefore = peak;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let summary: Record<string, unknown>;
if (job === 'graph-rebuild') {
  const r = await runGraphRebuild(ports, { lookbackMs: b.graphLookbackMs }, ctx);
  summary = { events: r.events, users: r.users, usersWithContext: r.usersWithContext, ringUsers: r.ringUsers, components: r.components };
} else if (job === 'model-retrain') {
  const r = await runModelRetrain(
    { ...ports, fallback: DEFAULT_MODEL },
    {
      lookbackMs: b.retrainLookbackMs, labelMaturityMs: b.retrainLabelMaturityMs, minAucGain: b.retrainMinAucGain,
      minTestPositives: b.retrainMinTestPositives, allowedLatenessMs: config.runtime.allowedLatenessMs, negativeSampleRate: b.retrainNegativeSampleRate,
    },
    ctx,
  );
  summary = { rows: r.rows, positives: r.positives, promoted: r.promoted, auc: r.report?.auc, baselineAuc: r.report?.baselineAuc };
} else if (job === 'merchant-anomalies') {
  const r = await runMerchantAnomalies(ports, { lookbackDays: b.anomaliesLookbackDays, zThreshold: b.anomaliesZThreshold }, ctx);
  summary = { events: r.events, merchantDays: r.merchantDays, anomalies: r.anomalies.length };
} else if (job === 'quality-check') {
  const r = await runQualityCheck(ports, { lookbackMs: 30 * 86_400_000, alertBelow: b.qualityAlertBelow }, ctx);
  summary = { rows: r.rows, score: r.score };
} else if (job === 'curate') {
  const root = dirname(lakeDir as string);
  const curated = new DuckDbCuratedLake({ bronzeDir: lakeDir as string, dimensionsDir: join(root, 'dim'), curatedDir: join(root, 'curated') });
  const r = await runCurate({ curated, reports: ports.reports, now: Date.now }, { rebuildDays: b.curateRebuildDays, contextDays: b.curateContextDays, keepSnapshots: b.curatedKeepSnapshots, settleMs: 0 }, ctx);
  summary = { dates: r.dates.length, eventsRead: r.eventsRead, rows: r.rows, unmatched: r.unmatched };
} else {
  throw new Error(`unknown job ${job}`);
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
await unlinkByPrefix(redis, prefix);
redis.disconnect();
const mib = (n: number) => n / 2 ** 20;
process.stdout.write(`${JSON.stringify({ job, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB: mib(peak), rssBeforeMiB: mib(rssBefore), summary })}\n`);
