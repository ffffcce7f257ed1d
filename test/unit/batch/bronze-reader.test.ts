import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BronzeLakeReader } from '../../../src/adapters/duckdb/bronze-reader.ts';
import type { PaymentEvent } from '../../../src/contract/event.ts';
import { type LakeRecord, writeBronzeLake } from '../../support/bronze-lake.ts';

const T0 = Date.UTC(2026, 0, 1, 23, 50);
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lake-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const event = (id: string, minute: number, extra: Partial<PaymentEvent> = {}): PaymentEvent => ({
  event_id: id, ts_ms: T0 + minute * 60_000, user_id: 'u1', merchant_id: 'm1', amount: 10 + minute,
  currency: 'USD', status: 'captured', ...extra,
});

describe('BronzeLakeReader (DuckDB over the committed Parquet files)', () => {
  it('returns valid events once per id, first copy by Kafka position, in arrival order, within the range', async () => {
    const records: LakeRecord[] = [
      { partition: 0, event: event('a', 0, { device_id: 'd1', country: 'VN' }), timestampMs: 1_000 },
      { partition: 1, event: event('b', 5), timestampMs: 900 },
      { partition: 0, event: event('a', 0, { amount: 999 }), timestampMs: 3_000 }, // a later copy of "a"
      { partition: 1, event: 'not json', timestampMs: 1_100 },
      { partition: 0, event: event('c', 20), timestampMs: 2_000 }, // next day (00:10), inside the range
      { partition: 0, event: event('late', 200), timestampMs: 2_500 }, // after the range
    ];
    await writeBronzeLake(dir, records);
    const reader = new BronzeLakeReader(dir);
    const got = await reader.events({ fromMs: T0, toMs: T0 + 60 * 60_000 });
    expect(got.map((e) => e.event_id)).toEqual(['b', 'a', 'c']);
    expect(got[1]).toEqual({ ...event('a', 0), device_id: 'd1', country: 'VN' });
    expect(got[0]?.device_id).toBeUndefined();
    expect(got[0]?.country).toBeUndefined(); // NULL in Parquet is absent, not the string "null"
    // rows keep every stored copy (the quality check's input), invalid records excluded by the date layout
    const rows = await reader.rows({ fromMs: T0, toMs: T0 + 60 * 60_000 });
    expect(rows.map((r) => r.event_id).sort()).toEqual(['a', 'a', 'b', 'c']);
    expect(rows.find((r) => r.event_id === 'b')?.ts_ms).toBe(T0 + 5 * 60_000);
    // only rows that reached Kafka before a time (a retried job reads what its first attempt read)
    const arrived = { fromMs: T0, toMs: T0 + 60 * 60_000, arrivedBeforeMs: 2_000 };
    expect((await reader.events(arrived)).map((e) => e.event_id)).toEqual(['b', 'a']);
    expect((await reader.rows(arrived)).map((r) => r.event_id).sort()).toEqual(['a', 'b']);
  });

  it('an empty or missing lake is no events', async () => {
    expect(await new BronzeLakeReader(join(dir, 'missing')).events({ fromMs: 0, toMs: T0 })).toEqual([]);
    expect(await new BronzeLakeReader(dir).rows({ fromMs: 0, toMs: T0 })).toEqual([]);
  });
});
