/**
 * The driver-side CPU of the upsert sink without a server: the bench workload's upserts bound by
 * TABLES (tables.ts) and encoded into BATCH frames by the driver's own FrameWriter and Encoder,
 * as CassandraUpsertSink → client.batch would, minus the socket. CPU time per event, robust
 * enough on a loaded box to compare two versions of tables.ts back to back (--tables <file>).
 *
 *   npx tsx load-tests/cassandra-encode.ts [--events 100000] [--rounds 5] [--tables <path to tables.ts>] [--ts-long]
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import cassandra from 'cassandra-driver';
import type { TableMapping } from '../src/adapters/cassandra/tables.ts';
import { bigintBytes } from '../src/adapters/cassandra/wire-values.ts';
import { buildWorkload } from './cassandra-workload.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' }, tables: { type: 'string' }, 'ts-long': { type: 'boolean', default: false } } });
const require = createRequire(import.meta.url);
const { FrameWriter } = require('cassandra-driver/lib/writers') as { FrameWriter: new (op: number) => { writeByte(b: number): void; writeShort(n: number): void; writeShortBytes(b: Buffer): void; writeBytes(b: unknown): void; write(v: number, s: number): Buffer } };
const Encoder = (cassandra as unknown as { Encoder: new (v: number, o: object) => { encode(v: unknown, t: unknown): Buffer | null } }).Encoder;
const { dataTypes, Long } = cassandra.types;
const TABLES = ((await import(values.tables ?? '../src/adapters/cassandra/tables.ts')) as { TABLES: Record<string, TableMapping> }).TABLES;

// Column types by name across the four tables (names are unique in type across them).
const TYPE: Record<string, number | { code: number; info: { code: number } }> = {
  merchant_id: dataTypes.text, window_start: dataTypes.timestamp, status: dataTypes.text, window_end: dataTypes.timestamp, cnt: dataTypes.bigint,
  sum_amount: dataTypes.double, n_users: dataTypes.bigint, final: dataTypes.boolean, updated_at_ms: dataTypes.bigint, total_cnt: dataTypes.bigint,
  failed_cnt: dataTypes.bigint, hour_cnt: dataTypes.bigint, hour_failed: dataTypes.bigint, as_of_ms: dataTypes.bigint, user_id: dataTypes.text,
  ts_ms: dataTypes.bigint, event_id: dataTypes.text, score: dataTypes.double, decision: dataTypes.text, reasons: { code: dataTypes.list, info: { code: dataTypes.text } },
  features_v: dataTypes.blob, model_version: dataTypes.text,
};
const columnTypes = (cql: string) => [...cql.slice(cql.indexOf('(') + 1, cql.indexOf(')')).split(',').map((c) => TYPE[c.trim()]!), dataTypes.bigint];
const types = Object.fromEntries(Object.entries(TABLES).map(([name, t]) => [name, columnTypes(t.cql)]));
const queryId = Buffer.alloc(16, 7);

const w = buildWorkload({ seed: 'encode', events: Number(values.events), periodMs: 48 * 3_600_000, startMs: Date.UTC(2026, 0, 1), batchRecords: 500, partitions: 12, allowedLatenessMs: 20 * 60_000 });
const encoder = new Encoder(4, {});
// The write timestamp as the sink binds it (a driver Long before the sink pre-encoded it: --ts-long).
const timestamp = values['ts-long'] ? (us: number): unknown => Long.fromNumber(us) : bigintBytes;

function encodeAll(): number {
  let bytes = 0;
  for (const drain of w.drains) {
    const frame = new FrameWriter(0x0d);
    frame.writeByte(1);
    frame.writeShort(drain.effects.length);
    for (const effect of drain.effects) {
      const table = TABLES[effect.sink]!;
      const params = table.params(effect.row);
      const ts = table.timestampMicros(effect.row);
      params.push(timestamp(ts));
      const t = types[effect.sink]!;
      frame.writeByte(1);
      frame.writeShortBytes(queryId);
      frame.writeShort(params.length);
      for (let i = 0; i < params.length; i++) frame.writeBytes(encoder.encode(params[i], t[i]));
    }
    bytes += frame.write(4, 0).length;
  }
  return bytes;
}
encodeAll();
for (let r = 0; r < Number(values.rounds); r++) {
  const t0 = process.cpuUsage();
  const bytes = encodeAll();
  const d = process.cpuUsage(t0);
  console.log(`round ${r}: ${((d.user + d.system) / w.events).toFixed(2)} µs per event, ${(bytes / w.events).toFixed(0)} bytes per event`);
}
