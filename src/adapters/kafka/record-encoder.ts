import { createRequire } from 'node:module';
import { crc32c } from './crc32c.ts';

/**
 * A faster encoder of one Kafka record (record batch v2 "Record", produce v3+), installed in
 * place of kafkajs 2.2.4's `protocol/recordBatch/record/v0`.
 *
 * kafkajs builds every record through its generic Encoder: a zero-filled 512-byte buffer per
 * record and per header, a `Buffer.from([...])` per varint, and the timestamp delta as a varlong
 * through BigInt-backed Longs. Every event the API accepts and every record the workers emit
 * goes through it: in the profiles it was ~10% of the API's CPU and most of the workers' produce
 * path. This one sizes the record first and writes it into one pooled buffer.
 *
 * Wire format (Kafka's DefaultRecord, as kafkajs writes it):
 *   length varint (zigzag) | attributes int8 = 0 | timestampDelta varlong | offsetDelta varint
 *   | key varint length (-1 = null) + bytes | value varint length + bytes
 *   | header count varint | per header: key varint length + UTF-8, value varint length + bytes
 * Output is byte-identical to kafkajs's for every record it accepts (checked by
 * test/unit/adapters/kafka/record-encoder.test.ts against kafkajs's own encoder). Anything
 * unusual (non-string, non-Buffer key, value or header value; array or null header values;
 * deltas beyond ±2^30, or a Long timestamp) is handed to kafkajs's encoder unchanged.
 */

/** What kafkajs's RecordBatch reads from an encoded record (an Encoder, or this). */
export interface EncodedRecord {
  readonly buf: Buffer;
  readonly buffer: Buffer;
}

export interface RecordInput {
  readonly offsetDelta?: number;
  readonly timestampDelta?: unknown;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: unknown;
}

type RecordFn = (record: RecordInput) => EncodedRecord;

/** Deltas in this range have the same zigzag varint as varlong (kafkajs writes ts as varlong). */
const SMALL = 2 ** 30;

const zigzag = (v: number): number => (v << 1) ^ (v >> 31);

function varintSize(unsigned: number): number {
  let u = unsigned;
  let n = 1;
  while ((u & 0xffffff80) !== 0) {
    n += 1;
    u >>>= 7;
  }
  return n;
}

function writeVarint(buf: Buffer, at: number, unsigned: number): number {
  let u = unsigned;
  let off = at;
  while ((u & 0xffffff80) !== 0) {
    buf[off++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[off++] = u & 0x7f;
  return off;
}

/** Byte length of a key, value or header value; -1 for null; undefined when not ours to encode. */
function bytesOf(v: unknown, nullable: boolean): number | undefined {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Buffer.isBuffer(v)) return v.length;
  if (nullable && (v === null || v === undefined)) return -1;
  return undefined;
}

function isSmallInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > -SMALL && v < SMALL;
}

/** Writes a length-prefixed key, value or header value of `size` bytes (-1: null). */
function writeBytes(buf: Buffer, at: number, v: unknown, size: number): number {
  let off = writeVarint(buf, at, zigzag(size));
  if (size <= 0) return off;
  if (typeof v === 'string') off += buf.write(v, off, size, 'utf8');
  else off += (v as Buffer).copy(buf, off);
  return off;
}

/**
 * Encodes one record like kafkajs's `Record`, or returns undefined for a record it leaves to
 * kafkajs (see the module comment).
 */
export function encodeRecord(record: RecordInput): EncodedRecord | undefined {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
  if (!isSmallInt(offsetDelta) || !isSmallInt(timestampDelta)) return undefined;
  if (headers === null || typeof headers !== 'object') return undefined;
  const keySize = bytesOf(key, true);
  const valueSize = bytesOf(value, true);
  if (keySize === undefined || valueSize === undefined) return undefined;
  const headerKeys = Object.keys(headers);
  const headerSizes: number[] = [];
  let body = 1 + varintSize(zigzag(timestampDelta)) + varintSize(zigzag(offsetDelta));
  body += varintSize(zigzag(keySize)) + Math.max(keySize, 0) + varintSize(zigzag(valueSize)) + Math.max(valueSize, 0);
  body += varintSize(zigzag(headerKeys.length));
  for (const name of headerKeys) {
    const nameSize = Buffer.byteLength(name, 'utf8');
    const size = bytesOf((headers as Record<string, unknown>)[name], false);
    if (size === undefined) return undefined;
    headerSizes.push(nameSize, size);
    body += varintSize(zigzag(nameSize)) + nameSize + varintSize(zigzag(size)) + size;
  }
  const buf = Buffer.allocUnsafe(varintSize(zigzag(body)) + body);
  let off = writeVarint(buf, 0, zigzag(body));
  buf[off++] = 0; // attributes: none used
  off = writeVarint(buf, off, zigzag(timestampDelta));
  off = writeVarint(buf, off, zigzag(offsetDelta));
  off = writeBytes(buf, off, key, keySize);
  off = writeBytes(buf, off, value, valueSize);
  off = writeVarint(buf, off, zigzag(headerKeys.length));
  for (let i = 0; i < headerKeys.length; i++) {
    const name = headerKeys[i] as string;
    off = writeBytes(buf, off, name, headerSizes[2 * i] as number);
    off = writeBytes(buf, off, (headers as Record<string, unknown>)[name], headerSizes[2 * i + 1] as number);
  }
  // Cannot differ (sizes and writes follow the same fields); if it ever did, kafkajs encodes it.
  return off === buf.length ? { buf, buffer: buf } : undefined;
}

/** The release whose record module this replaces; any other is left alone. */
const FOR_VERSION = '2.2.4';
const RECORD_MODULE = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
/** kafkajs's CRC-32C of a record batch (bound by the record batch module when it first loads). */
const CRC_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
/** The record batch module: binds CRC_MODULE when it loads (on the first produce or fetch). */
const RECORD_BATCH_MODULE = 'kafkajs/src/protocol/recordBatch/v0/index.js';
/** The only kafkajs module that imports the record encoder (it binds it when first loaded). */
const PRODUCE_V3_MODULE = 'kafkajs/src/protocol/requests/produce/v3/request.js';
const INSTALLED = Symbol.for('riskstream.kafkajs.recordEncoder');

/**
 * Puts {@link encodeRecord} (falling back to kafkajs's own) and the slicing-by-8 CRC-32C
 * (crc32c.ts, same values) in kafkajs's module cache, so the produce request module and the
 * record batch module bind them when they first load. Process-wide and idempotent. Returns
 * false when kafkajs is another release, or when a produce request was already built in this
 * process before the call (its modules hold the originals; nothing is changed then).
 */
export function installRecordEncoder(): boolean {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== FOR_VERSION) return false;
  const recordPath = require.resolve(RECORD_MODULE);
  const original = require(recordPath) as RecordFn & { [INSTALLED]?: true };
  if (original[INSTALLED]) return true;
  if (require.cache[require.resolve(PRODUCE_V3_MODULE)] !== undefined) return false;
  const fast: RecordFn & { [INSTALLED]?: true } = (record) => encodeRecord(record) ?? original(record);
  fast[INSTALLED] = true;
  (require.cache[recordPath] as NodeJS.Module).exports = fast;
  // The checksum only helps while the record batch module is not loaded yet (it always is not
  // before the first produce or fetch of the process; kafkaClient installs before both).
  if (require.cache[require.resolve(RECORD_BATCH_MODULE)] === undefined) {
    const crcPath = require.resolve(CRC_MODULE);
    require(crcPath);
    (require.cache[crcPath] as NodeJS.Module).exports = (buffer: Buffer): number => crc32c(buffer);
  }
  return true;
}
