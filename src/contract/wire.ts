import { ErrorCodes, RiskstreamError } from '../runtime/errors.ts';
import { type IngestedEvent, type PaymentEvent, validateEvent } from './event.ts';
import { cleanWireEvent } from './event-fast.ts';

/**
 * Wire format of `payments.events` records (spec).
 *
 * - key:    UTF-8 `merchant_id` (the partition key: one merchant → one partition → one writer).
 * - value:  UTF-8 JSON object, one line, fields in this order, absent optionals omitted:
 *           `event_id, ts_ms, user_id, merchant_id, amount, currency, country?, device_id?,
 *            status, metadata?, ingest_received_ms`
 *           Values are already cleansed (amount ≥ 0, currency upper case). `ingest_received_ms`
 *           is the API's receive time (epoch ms, integer).
 * - header: `rs-schema: payment-event.v1`. A consumer that sees another version must not guess.
 *
 * JSON rather than a binary codec: ~200 bytes/event, decodable by every tool on the path
 * (kcat, DuckDB `read_json`, the bronze archiver), and V8's JSON is faster than any JS codec.
 */
export const EVENT_SCHEMA_HEADER = 'rs-schema';
export const EVENT_SCHEMA_VERSION = 'payment-event.v1';

/** One shared, frozen header map: every record carries the same one. */
const EVENT_HEADERS: Readonly<Record<string, string>> = Object.freeze({ [EVENT_SCHEMA_HEADER]: EVENT_SCHEMA_VERSION });

export interface WireRecord {
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Encodes a cleansed event with its ingest stamp. */
export function encodeEvent(event: PaymentEvent, ingestReceivedMs: number): WireRecord {
  const value: Record<string, unknown> = {
    event_id: event.event_id,
    ts_ms: event.ts_ms,
    user_id: event.user_id,
    merchant_id: event.merchant_id,
    amount: event.amount,
    currency: event.currency,
  };
  if (event.country !== undefined) value.country = event.country;
  if (event.device_id !== undefined) value.device_id = event.device_id;
  value.status = event.status;
  if (event.metadata !== undefined) value.metadata = event.metadata;
  value.ingest_received_ms = ingestReceivedMs;
  return {
    key: event.merchant_id,
    value: JSON.stringify(value),
    headers: EVENT_HEADERS,
  };
}

/**
 * Decodes and re-validates a record value with the same contract (a topic may have other
 * writers). Throws DECODE_FAILED (not JSON) or VALIDATION_FAILED (with the field errors in
 * the message); both are terminal, so the record goes to the DLQ.
 *
 * Records in the cleansed form the API writes take a cheaper, equally strict check
 * (event-fast.ts); any other record gets the full validation, which cleanses it or rejects it.
 * With `keepWire`, the text of a record that passed that check is remembered for
 * {@link wireValueOf}.
 */
export function decodeEvent(value: string | Uint8Array, keepWire = false): IngestedEvent {
  const text = typeof value === 'string' ? value : utf8(value);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new RiskstreamError(ErrorCodes.decodeFailed, 'payment event is not JSON', { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RiskstreamError(ErrorCodes.decodeFailed, 'payment event is not a JSON object');
  }
  const clean = cleanWireEvent(parsed as Record<string, unknown>);
  if (clean === undefined) return validateWireEvent(parsed as Record<string, unknown>);
  if (keepWire) wireTexts.set(clean, text);
  return clean;
}

/**
 * Texts of decoded records that were already in cleansed wire form, by the decoded event (weak:
 * an entry lives as long as its event). Events are immutable, so the text stays theirs; a copy
 * of an event (spread) is not in the map and is encoded afresh.
 */
const wireTexts = new WeakMap<IngestedEvent, string>();

/**
 * The wire value of a decoded event: the record's own text when {@link decodeEvent} kept it
 * (it passed the strict wire check, so it parses to exactly this event, and it is in the wire
 * field order), else the event's JSON. The merchant worker re-publishes every event keyed by
 * user: this saves a JSON.stringify per event there.
 */
export function wireValueOf(event: IngestedEvent): string {
  return wireTexts.get(event) ?? JSON.stringify(event);
}

/** UTF-8 text of bytes without copying them first (Buffer.from(Uint8Array) would copy). */
function utf8(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString('utf8');
}

/** The full validation of a decoded record (any writer's form): cleansed event, or a terminal error. */
export function validateWireEvent(parsed: Readonly<Record<string, unknown>>): IngestedEvent {
  const { ingest_received_ms: stamp, ...rest } = parsed;
  if (typeof stamp !== 'number' || !Number.isSafeInteger(stamp)) {
    throw new RiskstreamError(ErrorCodes.validationFailed, 'ingest_received_ms: expected integer');
  }
  // Event time is not checked against a clock here: replays of old data are legitimate.
  const result = validateEvent(rest, { nowMs: Number.MAX_SAFE_INTEGER, maxFutureSkewMs: 0 });
  if (!result.ok) {
    const detail = result.errors.map((e) => `${e.path}: ${e.reason}`).join('; ');
    throw new RiskstreamError(ErrorCodes.validationFailed, `invalid payment event: ${detail}`);
  }
  return { ...result.event, ingest_received_ms: stamp };
}
