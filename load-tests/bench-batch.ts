/**
 * Batch-job benchmark: each job of the batch layer over a generated bronze lake, in a process of
 * its own, with its wall time, CPU time and peak RSS: what sizes the batch pod
 * (deploy/k8s/batch.yaml) and tells how long a schedule may be.
 *
 *   npm run bench:batch -- --json <file> [--events 300000] [--days 30] [--seed bench-batch]
 *        [--jobs graph-rebuild,model-retrain,merchant-anomalies,quality-check,curate] [--keep-lake <dir>]
 *
 * The lake is written through the archiver's own commit path (BronzeStore + the Parquet encoder,
 * 12 partitions, segments of 50,000 records); labels come from the generator (in memory: the
 * labels topic's read is not what is measured), the dimension tables (for curate) too, next to the
 * lake in <dir>/dim; curate writes <dir>/curated. Graph snapshots, models and reports go to the
 * local Redis under a fresh prefix, removed afterwards. Needs the stack's Redis.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { encodeBronzeParquet } from '../src/adapters/parquet/bronze-writer.ts';
import { murmur2 } from '../src/adapters/kafka/emit-sink.ts';
import { toBuckets, type ArchiveRecord } from '../src/bronze/rows.ts';
import { BronzeStore } from '../src/bronze/store.ts';
import { encodeEvent } from '../src/contract/wire.ts';
import { generateTraffic, generatorOptions } from '../src/generator/generate.ts';
import { dimensionRows } from '../src/generator/dimensions.ts';
import { writeDimensions } from '../src/adapters/parquet/dimension-writer.ts';
import { REPO_ROOT } from './processes.ts';

const DAY = 86_400_000;
const JOBS = ['graph-rebuild', 'model-retrain', 'merchant-anomalies', 'quality-check', 'curate'];

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    events: { type: 'string', default: '300000' },
    days: { type: 'string', default: '30' },
    seed: { type: 'string', default: 'bench-batch' },
    jobs: { type: 'string', default: JOBS.join(',') },
    'keep-lake': { type: 'string' },
  },
});

const events = Number(values.events);
const days = Number(values.days);
const asOfMs = Date.UTC(2026, 5, 1);
const log = (msg: string) => process.stderr.write(`[bench:batch] ${msg}\n`);

const started = performance.now();
const traffic = generateTraffic(generatorOptions({ seed: values.seed, events, periodMs: days * DAY, startMs: asOfMs - days * DAY }));
log(`generated ${traffic.emissions.length} emissions, ${traffic.labels.length} labels in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const dir = values['keep-lake'] ?? mkdtempSync(join(os.tmpdir(), 'bench-batch-'));
const lake = join(dir, 'bronze');
const store = new BronzeStore(lake);
const byPartition = new Map<number, ArchiveRecord[]>();
traffic.emissions.forEach((e, i) => {
  const partition = (murmur2(e.event.merchant_id) & 0x7fffffff) % 12;
  const list = byPartition.get(partition) ?? [];
  list.push({ offset: BigInt(list.length), value: Buffer.from(encodeEvent(e.event as never, asOfMs - days * DAY + i).value), timestampMs: asOfMs - days * DAY + i });
  byPartition.set(partition, list);
});
const writeStarted = performance.now();
for (const [partition, list] of byPartition) {
  for (let i = 0; i < list.length; i += 50_000) {
    const segment = list.slice(i, i + 50_000);
    await store.commit('payments.events', partition, segment[0]!.offset, segment.at(-1)!.offset, toBuckets(partition, segment), encodeBronzeParquet, Date.now());
  }
}
log(`lake written in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s: ${lake}`);
await writeDimensions(join(dir, 'dim'), 'bench', dimensionRows(traffic));
const labelsFile = join(dir, 'labels.json');
writeFileSync(labelsFile, JSON.stringify(traffic.labels.map((l) => l.label)));

interface ChildResult {
  job: string;
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  rssBeforeMiB: number;
  summary: Record<string, unknown>;
}
const results: ChildResult[] = [];
const run = promisify(execFile);
for (const job of values.jobs.split(',')) {
  log(`running ${job}…`);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'load-tests/bench-batch-child.ts', job, lake, labelsFile, String(asOfMs)], {
    cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, env: { ...process.env },
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ChildResult;
  results.push(result);
  log(`${job}: ${result.seconds.toFixed(1)} s, CPU ${result.cpuSeconds.toFixed(1)} s, peak RSS ${result.peakRssMiB.toFixed(0)} MiB`);
}
if (values['keep-lake'] === undefined) rmSync(dir, { recursive: true, force: true });

const report = {
  bench: 'batch',
  at: new Date().toISOString(),
  machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), loadAverage: os.loadavg() },
  events, emissions: traffic.emissions.length, labels: traffic.labels.length, days,
  jobs: Object.fromEntries(results.map((r) => [r.job, r])),
};
const lines = [
  `batch jobs over ${traffic.emissions.length.toLocaleString('en')} bronze rows (${events.toLocaleString('en')} events, ${days} days), ${traffic.labels.length.toLocaleString('en')} labels`,
  '',
  '| job | wall s | CPU s | peak RSS MiB | rows/s | result |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.job} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${Math.round(traffic.emissions.length / r.seconds).toLocaleString('en')} | ${JSON.stringify(r.summary)} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (values.json) {
  mkdirSync(dirname(values.json), { recursive: true });
  writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(values.json.replace(/\.json$/, '') + '.md', `${lines.join('\n')}\n`);
}
