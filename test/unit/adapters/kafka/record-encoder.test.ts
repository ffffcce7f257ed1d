import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { encodeRecord, installRecordEncoder, type RecordInput } from '../../../../src/adapters/kafka/record-encoder.ts';
import { createRng } from '../../../../src/analytics/prng.ts';

const require = createRequire(import.meta.url);
const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
/** kafkajs's own encoder, loaded before the install below replaces the cached module. */
const kafkajsRecord = require(RECORD_MODULE) as (r: RecordInput) => { buffer: Buffer };
const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;

const rng = createRng(7);
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-{}"," é€😀ß\u0000\u007f';

function text(maxLength: number): string {
  let s = '';
  const n = rng.int(maxLength + 1);
  for (let i = 0; i < n; i += 1) s += ALPHABET[rng.int(rng.chance(0.9) ? 70 : ALPHABET.length)];
  return s;
}

function bytesOrText(maxLength: number): string | Buffer {
  const s = text(maxLength);
  return rng.chance(0.3) ? Buffer.from(s) : s;
}

/** Records of every shape the fast path takes: sizes across varint boundaries, nulls, headers. */
function records(n: number): RecordInput[] {
  const out: RecordInput[] = [
    { key: 'm_0013', value: '{"event_id":"e1"}', headers: { 'rs-schema': 'payment-event.v1' } },
    { key: null, value: null },
    { key: '', value: '' },
    { key: 'k', value: 'x'.repeat(20_000), offsetDelta: 70_000, timestampDelta: -5 },
    { key: 'k', value: 'v', timestampDelta: 2 ** 30 - 1, offsetDelta: -(2 ** 30) + 1 },
  ];
  for (let i = 0; i < n; i += 1) {
    const headers: Record<string, string | Buffer> = {};
    for (let h = rng.int(4); h > 0; h -= 1) headers[text(12) || 'h'] = bytesOrText(40);
    const r: Record<string, unknown> = {
      key: rng.chance(0.1) ? null : bytesOrText(60),
      value: rng.chance(0.05) ? null : bytesOrText(rng.chance(0.1) ? 2_000 : 300),
      offsetDelta: rng.int(rng.chance(0.5) ? 200 : 100_000),
      timestampDelta: rng.chance(0.7) ? 0 : rng.int(10_000_000) - 5_000_000,
    };
    if (rng.chance(0.8)) r.headers = headers;
    out.push(r);
  }
  return out;
}

describe('encodeRecord', () => {
  it('writes the same bytes as kafkajs for every record it takes', () => {
    for (const r of records(5_000)) {
      const ours = encodeRecord(r);
      expect(ours, JSON.stringify(r)).toBeDefined();
      expect(ours!.buffer.equals(kafkajsRecord(r).buffer), JSON.stringify(r)).toBe(true);
    }
  });

  it('leaves unusual records to kafkajs', () => {
    for (const r of [
      { key: 5, value: 'v' },
      { key: 'k', value: 'v', headers: { a: ['1', '2'] } },
      { key: 'k', value: 'v', headers: { a: null } },
      { key: 'k', value: 'v', timestampDelta: 2 ** 31 },
      { key: 'k', value: 'v', offsetDelta: 1.5 },
      { key: 'k', value: 'v', headers: null },
    ] as RecordInput[]) {
      expect(encodeRecord(r), JSON.stringify(r)).toBeUndefined();
    }
  });
});

describe('installRecordEncoder', () => {
  it('replaces kafkajs\'s record module before a produce request binds it, once', () => {
    expect(installRecordEncoder()).toBe(true);
    expect(installRecordEncoder()).toBe(true);
    const installed = require(RECORD_MODULE) as (r: RecordInput) => { buffer: Buffer };
    expect(installed).not.toBe(kafkajsRecord);
    // kafkajs's encoder still serves what the fast one declines, with kafkajs's bytes
    const arrayHeader = { key: 'k', value: 'v', headers: { a: ['1', '2'] } } as RecordInput;
    expect(installed(arrayHeader).buffer.equals(kafkajsRecord(arrayHeader).buffer)).toBe(true);
    const plain = { key: 'k', value: 'v', headers: { a: '1' } };
    expect(installed(plain).buffer.equals(kafkajsRecord(plain).buffer)).toBe(true);
    const crc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
    expect(crc).not.toBe(kafkajsCrc);
    expect(crc(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});
