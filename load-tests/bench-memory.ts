/**
 * Worker memory benchmark (PRODUCT §8: "a worker stays ≤ 512 MiB RSS with 1,000,000 distinct
 * users; state lives in Redis, idle actors are passivated").
 *
 *   npm run bench:memory -- --json <file> [--users 1000000] [--events-per-user 2] [--keep] [--heap-prof]
 *
 * payments.events.by-user of a fresh world is pre-filled with `--events-per-user` payments of each
 * of `--users` distinct users (round by round, 30 minutes of event time apart, so every user's
 * later payments meet its earlier ones in the 24 h history, and every state is committed more
 * than once, which is what admits it to the worker's actor cache). One user worker, the
 * production entry point with its production heap budget, scores them all: features, model,
 * live scores in Redis, risk.scores on Kafka. Its resident set is sampled every second and its
 * peak (VmHWM) read at the end; the run checks that Redis holds one state per user. Writes the
 * JSON (`peakRssMiB`, `users`, `rssSamples`, …) and a markdown report beside it.
 * Needs the local stack up; exit 1 when the worker dies, the target is missed or a state is missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prefill } from '../src/adapters/kafka/bench-tools.ts';
import { partitionKeys } from '../src/adapters/redis/keys.ts';
import { encodeEvent } from '../src/contract/wire.ts';
import { TopicBase } from '../src/provision/topics.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { cpuSample } from './pipeline-machine.ts';
import { partitionOf } from './pipeline-replay.ts';
import { BenchWorld, processed } from './pipeline-world.ts';
import { REPO_ROOT } from './processes.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    users: { type: 'string', default: '1000000' },
    'events-per-user': { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4' },
    keep: { type: 'boolean', default: false },
    'heap-prof': { type: 'boolean', default: false },
  },
});
if (!values.json) {
  console.error('usage: npm run bench:memory -- --json <file> [--users 1000000] [--events-per-user 2] [--keep]');
  process.exit(2);
}
const USERS = Number(values.users);
const PER_USER = Number(values['events-per-user']);
const TARGET_MIB = 512;
const ROUND_MS = 30 * 60_000;
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'VN', 'SG', 'BR', 'IN'];
const id = `mem_${Date.now().toString(36)}`;
const logDir = join(REPO_ROOT, '.stack', 'tmp', 'bench', id);
const logger = createLogger({ name: 'bench-memory', level: 'warn' });

/** The i-th record: round-major, so event time only grows within a partition (nothing is late). */
function record(i: number, baseMs: number, partitions: number) {
  const round = Math.floor(i / USERS);
  const u = i % USERS;
  const user = `u${u}`;
  const wire = encodeEvent({
    event_id: `mem-${round}-${u}`, ts_ms: baseMs + round * ROUND_MS + Math.floor((u / USERS) * ROUND_MS), user_id: user,
    merchant_id: `m${(u * 7 + round) % 400}`, amount: 5 + ((u * 31 + round * 17) % 900), currency: 'USD',
    country: COUNTRIES[(u + (round === PER_USER - 1 && u % 10 === 0 ? 1 : 0)) % COUNTRIES.length]!,
    device_id: `d${u}-${round % 2}`, status: u % 23 === 0 ? 'failed' : 'authorized',
  }, baseMs);
  return { key: user, value: wire.value, partition: partitionOf(user, partitions) };
}

/** The worker's metrics port (it binds port 0 and logs only warnings here): its listening socket. */
function metricsPort(pid: number): number | undefined {
  try {
    const match = new RegExp(`127\\.0\\.0\\.1:(\\d+)\\s.*pid=${pid},`).exec(execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' }));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Actors and their encoded bytes in the worker's cache, and its old-space heap in use (MiB). */
async function workerMemory(pid: number): Promise<{ actors: number; stateMiB: number; oldSpaceMiB: number } | undefined> {
  const port = metricsPort(pid);
  if (port === undefined) return undefined;
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text()).catch(() => '');
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return {
    actors: value(/^riskstream_runtime_active_actors\{[^}]*\} (\S+)$/m),
    stateMiB: Math.round(value(/^riskstream_runtime_active_state_bytes\{[^}]*\} (\S+)$/m) / 2 ** 20),
    oldSpaceMiB: Math.round(value(/^riskstream_nodejs_heap_space_size_used_bytes\{space="old"[^}]*\} (\S+)$/m) / 2 ** 20),
  };
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function main(): Promise<number> {
  mkdirSync(logDir, { recursive: true });
  const world = new BenchWorld(id, logDir, logger);
  let ok = false;
  try {
    await world.setUp();
    const partitions = (await world.highs('user')).length;
    const events = USERS * PER_USER;
    const baseMs = Date.now() - PER_USER * ROUND_MS;
    console.log(`pre-filling ${events.toLocaleString('en')} payments of ${USERS.toLocaleString('en')} users…`);
    const t0 = performance.now();
    await prefill({ brokers: world.config.kafka.brokers, clientId: `${id}-prefill`, logger }, {
      topic: world.topic(TopicBase.eventsByUser), events, batchRecords: 2_000, inFlight: 1, record: (i) => record(i, baseMs, partitions),
    });
    const prefillSeconds = (performance.now() - t0) / 1000;
    const highs = await world.highs('user');
    console.log(`  ${prefillSeconds.toFixed(1)} s; one user worker scores them…`);
    // --heap-prof: V8's sampling heap profile of what is still live when the worker stops (kept with the logs)
    const execArgv = values['heap-prof'] ? ['--heap-prof', `--heap-prof-dir=${logDir}`] : [];
    const worker = world.startWorker('user', Number(values.concurrency), execArgv);
    const cpu = cpuSample({ 'worker-user': worker.pid });
    const started = performance.now();
    const samples: Sample[] = [];
    for (;;) {
      const d = await world.durable();
      const t = Math.round((performance.now() - started) / 1000);
      if (!worker.running) throw new Error(`the user worker exited; log in ${logDir}`);
      if (samples.length === 0 || t > samples.at(-1)!.t) {
        samples.push({ t, scored: processed(d.user), rssMiB: Math.round(rssMiB(worker.pid!)), ...(await workerMemory(worker.pid!)) });
        if (t % 10 === 0) console.log(`  ${JSON.stringify(samples.at(-1))}`);
      }
      if (BenchWorld.caughtUp(d.user, highs)) break;
      if (t > 3_600) throw new Error('not done within an hour');
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const seconds = (performance.now() - started) / 1000;
    const usage = cpu.stop();
    const peakRssMiB = usage.peakRssMiBByProcess['worker-user'] ?? Number.NaN;
    const statesStored = await countStates(world, partitions);
    const redisMiB = Number(/used_memory:(\d+)/.exec(await world.redis.info('memory'))?.[1] ?? Number.NaN) / 2 ** 20;
    const report = {
      peakRssMiB, users: USERS, eventsPerUser: PER_USER, events, statesStored, seconds: round(seconds),
      eventsPerSecond: Math.round(events / seconds), workerCores: usage.coresByProcess['worker-user'],
      redisUsedMiB: round(redisMiB), prefillSeconds: round(prefillSeconds), rssSamples: samples,
      heapMiB: world.config.runtime.heapMib, maxActiveActors: world.config.runtime.maxActiveActors,
      maxActiveStateBytes: world.config.runtime.maxActiveStateBytes,
      target: { maxPeakRssMiB: TARGET_MIB }, targetMet: peakRssMiB <= TARGET_MIB, measuredAt: new Date().toISOString(),
    };
    writeReport(report);
    ok = report.targetMet && statesStored === USERS;
  } finally {
    await world.tearDown(values.keep ?? false);
  }
  if (ok && !values.keep && !values['heap-prof']) rmSync(logDir, { recursive: true, force: true });
  return ok ? 0 : 1;
}

/** User states in Redis: fields of every partition's state hash (one per user). */
async function countStates(world: BenchWorld, partitions: number): Promise<number> {
  let n = 0;
  for (let p = 0; p < partitions; p += 1) {
    const keys = partitionKeys(world.keyPrefix, { group: world.group('user'), topic: world.topic(TopicBase.eventsByUser), partition: p });
    n += await world.redis.hlen(keys.state);
  }
  return n;
}

const round = (x: number) => Math.round(x * 100) / 100;

interface Sample {
  readonly t: number;
  readonly scored: number;
  readonly rssMiB: number;
  readonly actors?: number;
  readonly stateMiB?: number;
  readonly oldSpaceMiB?: number;
}

function writeReport(r: {
  peakRssMiB: number; users: number; eventsPerUser: number; events: number; statesStored: number; seconds: number; eventsPerSecond: number;
  redisUsedMiB: number; rssSamples: Sample[]; heapMiB: number; maxActiveActors: number; maxActiveStateBytes: number;
  targetMet: boolean; measuredAt: string; workerCores: number | undefined;
}): void {
  const jsonPath = values.json!;
  writeFileSync(jsonPath, `${JSON.stringify(r, null, 2)}\n`);
  const lines = [
    `| user worker peak RSS | ${r.peakRssMiB} MiB — target ≤ ${TARGET_MIB}: ${r.targetMet ? 'met' : 'MISSED'} |`,
    `| distinct users | ${r.users.toLocaleString('en')} (${r.eventsPerUser} payments each, ${r.events.toLocaleString('en')} in all); ${r.statesStored.toLocaleString('en')} user states in Redis |`,
    `| scoring | ${r.seconds} s, ${r.eventsPerSecond.toLocaleString('en')} events/s, worker ${r.workerCores} cores |`,
    `| settings | heap cap ${r.heapMiB} MiB, at most ${r.maxActiveActors.toLocaleString('en')} actors and ${r.maxActiveStateBytes / 2 ** 20} MiB of encoded state in memory |`,
    `| Redis used memory at the end | ${r.redisUsedMiB} MiB |`,
  ];
  const curve = r.rssSamples.filter((_, i, all) => i % Math.max(1, Math.floor(all.length / 12)) === 0 || i === all.length - 1);
  const md = [
    '# Worker memory benchmark', '', `Measured ${r.measuredAt}.`, '', '| | |', '|---|---|', ...lines, '',
    '| s | scored | RSS MiB | actors in memory | their encoded MiB | old space in use MiB |', '|---|---|---|---|---|---|',
    ...curve.map((s) => `| ${s.t} | ${s.scored.toLocaleString('en')} | ${s.rssMiB} | ${s.actors?.toLocaleString('en') ?? '—'} | ${s.stateMiB ?? '—'} | ${s.oldSpaceMiB ?? '—'} |`), '',
  ].join('\n');
  const mdPath = `${jsonPath.replace(/\.json$/, '')}.md`;
  writeFileSync(mdPath, md);
  console.log('');
  for (const line of lines) console.log(line.replace(/^\| /, '  ').replace(/ \| /, ': ').replace(/ \|$/, ''));
  console.log(`\n  wrote ${jsonPath} and ${mdPath}`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    console.error(`logs kept in ${logDir}`);
    process.exit(1);
  },
);
