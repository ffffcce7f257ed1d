import { mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parquetReadObjects } from 'hyparquet';
import { encodeBronzeParquet } from '../../../src/adapters/parquet/bronze-writer.ts';
import { Archiver, type ArchiveSource } from '../../../src/bronze/archiver.ts';
import type { ArchiveRecord } from '../../../src/bronze/rows.ts';
import { BronzeStore } from '../../../src/bronze/store.ts';
import { silentLogger } from '../../../src/runtime/logger.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1, 22);
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bronze-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

/** Record `offset` of a partition: event i at T0 + i minutes (crosses midnight at i = 120). */
function record(partition: number, offset: number, valid = true): ArchiveRecord {
  const value = valid
    ? JSON.stringify({
        event_id: `e-${partition}-${offset}`,
        ts_ms: T0 + offset * 60_000,
        user_id: 'u',
        merchant_id: `m${partition}`,
        amount: offset,
        currency: 'USD',
        status: 'captured',
        metadata: { k: 'v' },
        ingest_received_ms: 1,
      })
    : 'not json';
  return { offset: BigInt(offset), value: Buffer.from(value), timestampMs: 5 };
}
const range = (p: number, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => record(p, from + i));

class FakeSource implements ArchiveSource {
  seeks: [number, bigint][] = [];
  commits = new Map<number, bigint>();
  seek(partition: number, offset: bigint): void {
    this.seeks.push([partition, offset]);
  }
  async commit(partition: number, next: bigint): Promise<void> {
    this.commits.set(partition, next);
  }
}

function archiver(store = new BronzeStore(dir), source = new FakeSource(), maxRecords = 100) {
  const a = new Archiver(store, source, {
    topic: 'payments.events',
    segmentMaxRecords: maxRecords,
    segmentMaxAgeMs: 1_000,
    now: () => T0,
    logger: silentLogger(),
    encode: encodeBronzeParquet,
  });
  return { a, source, store };
}

type Row = Record<string, unknown> & { date: string };

/**
 * Every committed row, read back with hyparquet (pure JS) from `<glob dir>/*.parquet`; `date`
 * comes from the hive path. (DuckDB reads the same files in the integration e2e test; native
 * addons are kept out of the unit suite.)
 */
async function readRows(sub = 'date='): Promise<Row[]> {
  const rows: Row[] = [];
  for (const d of (await readdir(dir)).filter((n) => n.startsWith(sub)).sort()) {
    for (const f of (await readdir(join(dir, d))).sort()) {
      const bytes = await readFile(join(dir, d, f));
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const objects = (await parquetReadObjects({ file })) as Record<string, unknown>[];
      for (const o of objects) rows.push({ ...o, date: d.slice('date='.length) });
    }
  }
  return rows;
}
const offsets = (rows: Row[]) => new Set(rows.map((r) => `${r.kafka_partition}:${r.kafka_offset}`));

describe('bronze archiver', () => {
  it('writes every record once, partitioned by event date, readable back', async () => {
    const { a, source } = archiver();
    await a.onBatch(0, range(0, 0, 150)); // one 100-record segment flushes by size
    await a.onBatch(3, range(3, 0, 30));
    await a.flushDue(true);
    const rows = await readRows();
    expect(rows).toHaveLength(180);
    expect(offsets(rows).size).toBe(180);
    expect(rows.reduce((sum, r) => sum + Number(r.amount), 0)).toBe((149 * 150) / 2 + (29 * 30) / 2);
    const perDate = Object.fromEntries(
      [...Map.groupBy(rows, (r) => r.date)].map(([d, rs]) => [d, rs.length]),
    );
    expect(perDate).toEqual({ '2026-01-01': 120 + 30, '2026-01-02': 30 });
    // every row sits in the partition of its own event date
    expect(rows.every((r) => new Date(Number(r.ts_ms)).toISOString().startsWith(r.date))).toBe(true);
    expect(source.commits).toEqual(
      new Map([
        [0, 150n],
        [3, 30n],
      ]),
    );
    expect((await readdir(join(dir, '_segments/p=00'))).sort()).toEqual([
      `${'0'.repeat(20)}.json`,
      `${'0'.repeat(17)}100.json`,
    ]);
    expect(rows[0]!.metadata).toEqual({ k: 'v' });
    expect(typeof rows[0]!.ts_ms).toBe('bigint');
  });

  it('a restarted archiver skips what is committed and re-archives only the rest (exactly once)', async () => {
    const first = archiver();
    await first.a.onBatch(1, range(1, 0, 60));
    await first.a.flushDue(true);
    await first.a.onBatch(1, range(1, 60, 80)); // buffered, then "kill -9": lost from memory
    const second = archiver(new BronzeStore(dir));
    await second.a.onBatch(1, range(1, 40, 100)); // Kafka redelivers from an older position
    await second.a.flushDue(true);
    const rows = await readRows();
    expect(rows).toHaveLength(100);
    expect([...offsets(rows)].sort()).toEqual(Array.from({ length: 100 }, (_, i) => `1:${i}`).sort());
  });

  it('recovery rolls a committed segment forward and deletes old orphan temp files', async () => {
    const { a, store } = archiver();
    await a.onBatch(2, range(2, 0, 10));
    await a.flushDue(true);
    const dateDir = join(dir, 'date=2026-01-01');
    const [file] = await readdir(dateDir);
    await rename(
      join(dateDir, file!),
      join(dir, `_tmp/${store.writer}-p02-${'0'.repeat(20)}-${'0'.repeat(19)}9-2026-01-01.parquet`),
    );
    const orphan = join(dir, '_tmp/wdead-p02-00000000000000000010-00000000000000000019-2026-01-01.parquet');
    await writeFile(orphan, 'partial');
    await utimes(orphan, new Date(T0 - DAY), new Date(T0 - DAY));
    const next = await new BronzeStore(dir).recover(2, T0);
    expect(next).toBe(10n);
    expect(await readdir(dateDir)).toEqual([file]);
    expect(await readdir(join(dir, '_tmp'))).toEqual([]);
    expect(await readRows()).toHaveLength(10);
  });

  it('a second writer cannot commit the same start offset; it resyncs instead', async () => {
    const one = archiver(new BronzeStore(dir));
    const two = archiver(new BronzeStore(dir));
    await one.a.onBatch(4, range(4, 0, 5)); // both load "nothing committed" for partition 4
    await two.a.onBatch(4, range(4, 0, 8));
    await one.a.flushDue(true);
    await two.a.flushDue(true); // EEXIST on marker 0 → discarded, seek to 5
    expect(two.source.seeks).toEqual([[4, 5n]]);
    expect([...offsets(await readRows())].sort()).toEqual(['4:0', '4:1', '4:2', '4:3', '4:4']);
    expect(await readdir(join(dir, '_tmp'))).toEqual([]);
  });

  it('seeks back on a gap after restart and keeps invalid records out of the date partitions', async () => {
    const first = archiver();
    await first.a.onBatch(5, [...range(5, 0, 3), record(5, 3, false)]);
    await first.a.flushDue(true);
    const second = archiver(new BronzeStore(dir));
    await second.a.onBatch(5, range(5, 9, 12)); // position ahead of the markers
    expect(second.source.seeks).toEqual([[5, 4n]]);
    expect(await readRows()).toHaveLength(3);
    const invalid = await readRows('_invalid');
    expect(invalid.map((r) => [r.raw_value, r.error, r.event_id])).toEqual([
      ['not json', 'payment event is not JSON', null],
    ]);
  });
});
