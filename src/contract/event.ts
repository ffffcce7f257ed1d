import { z } from 'zod';
import { type FieldError, forbiddenKeyErrors, zodIssuesToFieldErrors } from './field-errors.ts';

/**
 * The payment event contract (PRODUCT §2): ONE zod schema serves runtime validation, the
 * TypeScript types (`z.input`/`z.output`) and the OpenAPI document (`z.toJSONSchema`), so they
 * cannot drift. The schema only validates; cleansing (abs amount, upper-case currency, default
 * USD) is a separate pure step so the JSON Schema stays a faithful description of the input.
 *
 * Strictness: unknown fields, wrong types, "12" for a number, NaN/±Infinity (JSON `1e309`
 * parses to Infinity) are rejected with a field path and a reason; nothing is coerced.
 */

/** `[A-Za-z0-9_.:-]{1,128}`: safe in Kafka keys, Redis keys, CQL and file names. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const MAX_ABS_AMOUNT = 1e9;
export const MAX_METADATA_KEYS = 32;
export const MAX_METADATA_VALUE_CHARS = 256;
export const STATUSES = ['authorized', 'captured', 'refunded', 'failed'] as const;
export type PaymentStatus = (typeof STATUSES)[number];

const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** True for an ISO 4217 code Intl knows (upper case). */
export function isCurrencyCode(code: string): boolean {
  return CURRENCIES.has(code);
}
/** User-assigned / grouping codes that Intl names but that are not countries. */
const NOT_COUNTRIES: ReadonlySet<string> = new Set(['EU', 'EZ', 'UN', 'QO', 'ZZ']);

/**
 * Assigned ISO 3166-1 alpha-2 codes, computed once from the ICU region names (676 lookups at
 * load; Intl.DisplayNames#of is too slow to call per event).
 */
const COUNTRIES: ReadonlySet<string> = (() => {
  const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  const codes = new Set<string>();
  for (let a = 65; a <= 90; a += 1) {
    for (let b = 65; b <= 90; b += 1) {
      const code = String.fromCharCode(a, b);
      const name = names.of(code);
      if (name !== undefined && name !== 'Unknown Region' && !NOT_COUNTRIES.has(code)) codes.add(code);
    }
  }
  return codes;
})();

/** True for an assigned ISO 3166-1 alpha-2 code (upper case). */
export function isCountryCode(code: string): boolean {
  return COUNTRIES.has(code);
}

const id = (what: string) =>
  z
    .string()
    .min(1)
    .max(128)
    .regex(ID_PATTERN, { error: 'must match [A-Za-z0-9_.:-]' })
    .meta({ description: `${what}: 1-128 chars of [A-Za-z0-9_.:-]` });

/** `[A-Za-z0-9_.:-]{1,64}`: a metadata key. */
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

const metadataKey = z
  .string()
  .regex(METADATA_KEY_PATTERN, { error: 'metadata key must match [A-Za-z0-9_.:-]{1,64}' });

/** The event as a client sends it (HTTP body, or one NDJSON line). */
export const eventInputSchema = z
  .strictObject({
    event_id: id('Client-chosen unique id; duplicates are dropped downstream by this id'),
    ts_ms: z.int().min(0).meta({ description: 'Event time, epoch milliseconds (integer)' }),
    user_id: id('Paying user'),
    merchant_id: id('Merchant; the Kafka partition key'),
    amount: z
      .number()
      .min(-MAX_ABS_AMOUNT)
      .max(MAX_ABS_AMOUNT)
      .meta({ description: 'Finite, |amount| <= 1e9; stored as its absolute value' }),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, { error: 'must be 3 letters (ISO 4217)' })
      .refine((c) => isCurrencyCode(c.toUpperCase()), { error: 'unknown ISO 4217 currency' })
      .optional()
      .meta({ description: 'ISO 4217; upper-cased; default USD' }),
    country: z
      .string()
      .refine(isCountryCode, { error: 'must be an ISO 3166-1 alpha-2 code (upper case)' })
      .optional()
      .meta({ description: 'ISO 3166-1 alpha-2, upper case' }),
    device_id: id('Device fingerprint').optional(),
    status: z.enum(STATUSES),
    metadata: z
      .record(metadataKey, z.string().max(MAX_METADATA_VALUE_CHARS))
      .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, {
        error: `at most ${MAX_METADATA_KEYS} keys`,
      })
      .optional()
      .meta({ description: 'Flat string→string map, ≤ 32 keys, values ≤ 256 chars' }),
  })
  .meta({ title: 'PaymentEvent' });

export type EventInput = z.input<typeof eventInputSchema>;

/** A validated, cleansed event (what downstream code sees, minus the ingest stamp). */
export interface PaymentEvent {
  readonly event_id: string;
  readonly ts_ms: number;
  readonly user_id: string;
  readonly merchant_id: string;
  /** Non-negative. */
  readonly amount: number;
  /** Upper-case ISO 4217. */
  readonly currency: string;
  readonly country?: string;
  readonly device_id?: string;
  readonly status: PaymentStatus;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A PaymentEvent as stored in Kafka: stamped by the API with its receive time. */
export interface IngestedEvent extends PaymentEvent {
  readonly ingest_received_ms: number;
}

export interface ValidateOptions {
  /** Now, per the caller's clock (injected: pure code does not read the clock). */
  readonly nowMs: number;
  /** Reject events whose ts_ms is more than this far ahead of nowMs. */
  readonly maxFutureSkewMs: number;
}

export type ValidationResult =
  | { readonly ok: true; readonly event: PaymentEvent }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/** Validates and cleanses one decoded JSON value. Never throws. */
export function validateEvent(input: unknown, options: ValidateOptions): ValidationResult {
  const forbidden = forbiddenKeyErrors(input);
  if (forbidden.length > 0) return { ok: false, errors: forbidden };
  const parsed = eventInputSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) return { ok: false, errors: zodIssuesToFieldErrors(parsed.error.issues) };
  if (parsed.data.ts_ms > options.nowMs + options.maxFutureSkewMs) {
    return {
      ok: false,
      errors: [{ path: 'ts_ms', reason: `more than ${options.maxFutureSkewMs} ms in the future` }],
    };
  }
  return { ok: true, event: cleanse(parsed.data) };
}

/**
 * Cleansing from the seed's `cleanse_payments`: amount → |amount|, currency upper-cased
 * (default USD). Builds a fresh object in the wire field order; metadata is rebuilt with
 * `Object.fromEntries` (own data properties only, no prototype walk).
 */
export function cleanse(input: z.output<typeof eventInputSchema>): PaymentEvent {
  const event: {
    -readonly [K in keyof PaymentEvent]: PaymentEvent[K];
  } = {
    event_id: input.event_id,
    ts_ms: input.ts_ms,
    user_id: input.user_id,
    merchant_id: input.merchant_id,
    amount: Math.abs(input.amount) + 0, // + 0 turns -0 into 0
    currency: (input.currency ?? 'USD').toUpperCase(),
    status: input.status,
  };
  if (input.country !== undefined) event.country = input.country;
  if (input.device_id !== undefined) event.device_id = input.device_id;
  if (input.metadata !== undefined && Object.keys(input.metadata).length > 0) {
    event.metadata = Object.fromEntries(Object.entries(input.metadata));
  }
  return event;
}

/** The JSON Schema (draft 2020-12) of the client input, for the OpenAPI document. */
export function eventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(eventInputSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export type { FieldError } from './field-errors.ts';
