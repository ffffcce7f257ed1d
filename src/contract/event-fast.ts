import { FORBIDDEN_KEYS } from './field-errors.ts';
import {
  ID_PATTERN,
  type IngestedEvent,
  isCountryCode,
  isCurrencyCode,
  MAX_ABS_AMOUNT,
  MAX_METADATA_KEYS,
  MAX_METADATA_VALUE_CHARS,
  METADATA_KEY_PATTERN,
  type PaymentEvent,
  type PaymentStatus,
  STATUSES,
  type ValidateOptions,
  type ValidationResult,
  validateEvent,
} from './event.ts';

/**
 * The hot-path check of a `payments.events` record value (see wire.ts), without zod: every
 * worker decodes every record, and the schema's generic machinery (issue collection, refinements,
 * the forbidden-key scan, two object copies) was most of a worker's decode time.
 *
 * It accepts only records that are ALREADY in the cleansed wire form the API writes: no unknown
 * or forbidden keys, amount ≥ 0 (not −0), currency present and upper case, metadata non-empty
 * when present, and each field within the rules of `eventInputSchema`. For such a record the
 * full validation would return the same event (test/unit/contract/event-fast.test.ts checks
 * that on mutated records). Anything else returns `undefined` and the caller runs the full
 * validation, which accepts and cleanses it or names what is wrong; so this check can only
 * decline work, never accept what the contract rejects.
 *
 * {@link validateEventFast} applies the same idea to the events clients send the API.
 *
 * Keep in step with `eventInputSchema` and `cleanse` (event.ts).
 */
const WIRE_KEYS: ReadonlySet<string> = new Set([
  'event_id', 'ts_ms', 'user_id', 'merchant_id', 'amount', 'currency', 'country', 'device_id', 'status', 'metadata', 'ingest_received_ms',
]);
const STATUS_SET: ReadonlySet<string> = new Set(STATUSES);
const UPPER_CURRENCY = /^[A-Z]{3}$/;

const isId = (v: unknown): v is string => typeof v === 'string' && ID_PATTERN.test(v);

function isCleanMetadata(m: unknown): m is Readonly<Record<string, string>> {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return false;
  let n = 0;
  for (const key in m) {
    n += 1;
    const value = (m as Record<string, unknown>)[key];
    if (FORBIDDEN_KEYS.has(key) || !METADATA_KEY_PATTERN.test(key)) return false;
    if (typeof value !== 'string' || value.length > MAX_METADATA_VALUE_CHARS) return false;
  }
  return n > 0 && n <= MAX_METADATA_KEYS;
}

/**
 * The event, when `v` (a JSON.parse result) is a valid record in cleansed wire form; otherwise
 * `undefined` (not necessarily invalid: run the full validation).
 */
export function cleanWireEvent(v: Readonly<Record<string, unknown>>): IngestedEvent | undefined {
  for (const key in v) if (!WIRE_KEYS.has(key)) return undefined;
  const { amount, currency, ingest_received_ms } = v;
  if (typeof ingest_received_ms !== 'number' || !Number.isSafeInteger(ingest_received_ms)) return undefined;
  // `>= 0` also refuses NaN; −0 is cleansed to 0 by the full path.
  if (typeof amount !== 'number' || !(amount >= 0 && amount <= MAX_ABS_AMOUNT) || Object.is(amount, -0)) return undefined;
  if (typeof currency !== 'string' || !UPPER_CURRENCY.test(currency) || !isCurrencyCode(currency)) return undefined;
  const event = checkedEvent(v, amount, currency);
  if (event === undefined) return undefined;
  event.ingest_received_ms = ingest_received_ms;
  return event as IngestedEvent;
}

/**
 * {@link validateEvent} with a fast path: a client event that is valid (unknown keys, ranges and
 * codes checked here as the schema does) is cleansed without zod, the rest goes through the
 * schema, which names what is wrong. The result is the same as validateEvent's for every input
 * (test/unit/contract/event-fast.test.ts compares them on mutated events); the API calls this
 * for every event it receives, and zod was ~10% of its CPU.
 */
export function validateEventFast(input: unknown, options: ValidateOptions): ValidationResult {
  const event = cleanInputEvent(input);
  if (event !== undefined && event.ts_ms <= options.nowMs + options.maxFutureSkewMs) return { ok: true, event };
  return validateEvent(input, options);
}

const INPUT_KEYS: ReadonlySet<string> = new Set([...WIRE_KEYS].filter((k) => k !== 'ingest_received_ms'));
const LETTERS3 = /^[A-Za-z]{3}$/;

/** The cleansed event when `input` is a valid client event; `undefined` otherwise (run the schema). */
function cleanInputEvent(input: unknown): PaymentEvent | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const v = input as Readonly<Record<string, unknown>>;
  for (const key in v) if (!INPUT_KEYS.has(key)) return undefined;
  const { amount, currency } = v;
  if (typeof amount !== 'number' || !(amount >= -MAX_ABS_AMOUNT && amount <= MAX_ABS_AMOUNT)) return undefined;
  let code = 'USD';
  if (currency !== undefined) {
    if (typeof currency !== 'string' || !LETTERS3.test(currency)) return undefined;
    code = currency.toUpperCase();
    if (!isCurrencyCode(code)) return undefined;
  }
  // + 0 turns -0 into 0, as cleanse does. An empty metadata map (cleanse drops it) is refused by
  // checkedEvent and left to the schema path.
  return checkedEvent(v, Math.abs(amount) + 0, code) as PaymentEvent | undefined;
}

type MutableEvent = { -readonly [K in keyof IngestedEvent]?: IngestedEvent[K] };

/**
 * The fields shared by both forms, checked, built in the order cleanse() produces (then the
 * caller adds the stamp), so both paths serialise alike; `undefined` when any is not valid.
 * The caller has checked that `v` holds no unknown key, and `amount` and `currency`.
 */
function checkedEvent(v: Readonly<Record<string, unknown>>, amount: number, currency: string): MutableEvent | undefined {
  const { event_id, ts_ms, user_id, merchant_id, country, device_id, status, metadata } = v;
  if (!isId(event_id) || !isId(user_id) || !isId(merchant_id)) return undefined;
  if (typeof ts_ms !== 'number' || !Number.isSafeInteger(ts_ms) || ts_ms < 0) return undefined;
  if (country !== undefined && (typeof country !== 'string' || !isCountryCode(country))) return undefined;
  if (device_id !== undefined && !isId(device_id)) return undefined;
  if (typeof status !== 'string' || !STATUS_SET.has(status)) return undefined;
  if (metadata !== undefined && !isCleanMetadata(metadata)) return undefined;
  const event: MutableEvent = { event_id, ts_ms, user_id, merchant_id, amount, currency, status: status as PaymentStatus };
  if (country !== undefined) event.country = country;
  if (device_id !== undefined) event.device_id = device_id;
  if (metadata !== undefined) event.metadata = metadata; // a fresh JSON.parse result, flat strings: nothing to copy
  return event;
}
