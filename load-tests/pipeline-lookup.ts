/**
 * Measurement 3 of the pipeline benchmark: GET /v1/users/:id/risk for existing users, open loop.
 *
 * A fresh Redis prefix is seeded, through the worker's own writer (LiveScoreSink), with the
 * latest score of every user the latency measurement scored (as the user worker would have
 * left them); an API child process with that prefix then answers `rps` requests per second for
 * `seconds`, each for a user drawn at random, after an unmeasured warm-up. Latency is counted
 * from each request's scheduled time.
 */
import { createRng } from '../src/analytics/prng.ts';
import { LiveScoreSink } from '../src/adapters/redis/live-scores.ts';
import type { OutputEffect } from '../src/runtime/actor.ts';
import { LIVE_SCORES_SINK } from '../src/actors/user/user-actor.ts';
import { type LatencySummary, LookupClient, openLoop, summarize } from './pipeline-http.ts';
import { type CpuReport, cpuSample, stackPids } from './pipeline-machine.ts';
import { freePort, httpOk, waitFor } from './processes.ts';
import type { BenchWorld } from './pipeline-world.ts';

export interface LookupOptions {
  readonly rps: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Node options of the API process (e.g. --cpu-prof). */
  readonly execArgv: readonly string[];
}

export interface LookupResult {
  readonly targetRps: number;
  readonly achievedRps: number;
  readonly requests: number;
  readonly users: number;
  readonly errors: number;
  readonly statuses: Record<string, number>;
  readonly latency: LatencySummary;
  readonly maxDispatchLagMs: number;
  readonly cpu: CpuReport;
}

async function seed(world: BenchWorld, latestByUser: ReadonlyMap<string, string>): Promise<string[]> {
  const sink = new LiveScoreSink(world.redis, world.keyPrefix);
  const effects: OutputEffect[] = [...latestByUser.values()].map((value) => ({ type: 'upsert', sink: LIVE_SCORES_SINK, row: JSON.parse(value) as Record<string, unknown> }));
  for (let i = 0; i < effects.length; i += 1_000) await sink.perform(effects.slice(i, i + 1_000));
  return [...latestByUser.keys()];
}


export async function runLookup(world: BenchWorld, options: LookupOptions, latestByUser: ReadonlyMap<string, string>, say: (line: string) => void): Promise<LookupResult> {
  if (latestByUser.size === 0) throw new Error('no scored users to look up (the latency measurement provides them)');
  await world.setUp();
  const users = await seed(world, latestByUser);
  const key = await world.apiKey();
  const port = await freePort();
  const api = world.startApi(port, options.execArgv);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor('api ready', () => httpOk(`${baseUrl}/readyz`), 60_000);
  const client = new LookupClient(baseUrl, key);
  // The project's seeded PRNG: the same run asks for the same users.
  const rng = createRng(42);
  const random = () => rng.next();
  const interval = 1000 / options.rps;
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let errors = 0;
  const fire = (measured: boolean) => async (_i: number, scheduled: number) => {
    const user = users[Math.floor(random() * users.length)]!;
    const res = await client.get(`/v1/users/${user}/risk`).catch(() => ({ status: 0 }));
    if (!measured) return;
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (res.status === 200) latencies.push(performance.now() - scheduled);
    else errors += 1;
  };
  say(`  ${users.length.toLocaleString('en')} users seeded; warm-up ${options.warmupSeconds} s, then ${options.rps} requests/s for ${options.seconds} s`);
  await openLoop(Math.round(options.rps * options.warmupSeconds), interval, fire(false));
  const cpu = cpuSample({ api: api.pid, ...stackPids() });
  const requests = Math.round(options.rps * options.seconds);
  const loop = await openLoop(requests, interval, fire(true));
  const cpuReport = cpu.stop();
  client.close();
  await world.stopChildren();
  return {
    targetRps: options.rps, achievedRps: Math.round(requests / (loop.durationMs / 1000)), requests, users: users.length, errors, statuses,
    latency: summarize(latencies), maxDispatchLagMs: Math.round(loop.maxDispatchLagMs * 100) / 100, cpu: cpuReport,
  };
}
