/**
 * Micro-benchmark of the Redis state store's commit path.
 *
 *   npx tsx src/cli/bench-store.ts [--url redis://127.0.0.1:6379] [--batches 200] [--batch-size 1000]
 *                                  [--keys 1000000] [--partitions 1] [--read]
 *
 * Each batch is `batch-size` events: as many state writes (distinct keys cycling through
 * `keys`, ~60-byte values) and as many dedup marks, one outbox entry every 10th batch, one
 * atomic commit. `--partitions N` runs N partitions concurrently (one commit in flight each),
 * like a worker owning N partitions. `--read` also does the per-batch reads the runtime does
 * before a commit (seen + loadStates). Prints events/s and commit latency percentiles; keys are
 * deleted afterwards. No targets are asserted here.
 */
import { parseArgs } from 'node:util';
import { connectRedis, unlinkByPrefix } from '../adapters/redis/admin.ts';
import { RedisStateStore } from '../adapters/redis/state-store.ts';
import type { CommitBatch, PartitionRef } from '../runtime/store.ts';
import { MIN_TIME_MS, stateId } from '../runtime/store.ts';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    batches: { type: 'string', default: '200' },
    'batch-size': { type: 'string', default: '1000' },
    keys: { type: 'string', default: '1000000' },
    partitions: { type: 'string', default: '1' },
    read: { type: 'boolean', default: false },
  },
});
const batches = Number(opts.batches);
const batchSize = Number(opts['batch-size']);
const keySpace = Number(opts.keys);
const partitions = Number(opts.partitions);
const keyPrefix = `bench:store:${process.pid}:${Date.now().toString(36)}`;

function makeBatch(ref: PartitionRef, epoch: number, n: number): CommitBatch {
  const first = n * batchSize;
  const states = [];
  const dedup = [];
  for (let i = 0; i < batchSize; i++) {
    const event = first + i;
    const key = `m-${(event * partitions + ref.partition) % keySpace}`;
    states.push({
      id: stateId('merchant', key),
      value: `v1:{"count":${event},"sum":${event * 3},"last":1700000000000}`,
    });
    dedup.push({ id: `evt-${ref.partition}-${event}`, eventTimeMs: 1_700_000_000_000 + event });
  }
  return {
    ref,
    epoch,
    fromOffset: String(first),
    nextOffset: String(first + batchSize),
    states,
    dedup,
    // Keep ~50 batches of marks, as a dedup horizon would.
    dedupPruneBelowMs: 1_700_000_000_000 + first - 50 * batchSize,
    timersAdd: [],
    timersRemove: [],
    effects: n % 10 === 0 ? [{ type: 'emit', topic: 'risk.scores', key: 'm-0', value: '{"score":0.5}' }] : [],
    maxEventTimeMs: 1_700_000_000_000 + first + batchSize,
    watermarkMs: MIN_TIME_MS,
  };
}

async function runPartition(store: RedisStateStore, partition: number, latencies: number[]): Promise<void> {
  const ref: PartitionRef = { group: 'bench', topic: 'payments.events', partition };
  const { epoch } = await store.claim(ref);
  for (let n = 0; n < batches; n++) {
    const batch = makeBatch(ref, epoch, n);
    const started = performance.now();
    if (opts.read) {
      await store.seen(
        ref,
        batch.dedup.map((mark) => mark.id),
      );
      await store.loadStates(
        ref,
        batch.states.map((write) => write.id),
      );
    }
    const result = await store.commit(batch);
    latencies.push(performance.now() - started);
    if (!result.ok) throw new Error(`commit refused: ${result.reason}`);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const store = new RedisStateStore({ redis: opts.url, keyPrefix });
  const latencies: number[] = [];
  try {
    // Warm-up: loads the scripts and the connection.
    await runPartition(store, partitions, []);
    const started = performance.now();
    await Promise.all(Array.from({ length: partitions }, (_, p) => runPartition(store, p, latencies)));
    const seconds = (performance.now() - started) / 1000;
    const events = batches * batchSize * partitions;
    latencies.sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 100) / 100;
    console.log(
      JSON.stringify({
        mode: opts.read ? 'seen+loadStates+commit' : 'commit',
        batchSize,
        batches,
        partitions,
        keySpace,
        eventsPerSecond: Math.round(events / seconds),
        commitsPerSecond: Math.round((batches * partitions) / seconds),
        commitP50Ms: round(percentile(latencies, 50)),
        commitP99Ms: round(percentile(latencies, 99)),
      }),
    );
  } finally {
    await store.close();
    const admin = connectRedis(opts.url);
    await unlinkByPrefix(admin, keyPrefix);
    await admin.quit();
  }
}

await main();
