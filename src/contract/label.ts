import { z } from 'zod';
import { ID_PATTERN } from './event.ts';

/**
 * Fraud label contract (`payments.labels`, key user_id). Labels arrive late: a chargeback or an
 * analyst confirms an event as fraud, or a review confirms it legitimate.
 *
 * Wire: UTF-8 JSON `{"event_id","user_id","label","label_ts_ms","event_ts_ms"}`, header
 * `rs-schema: fraud-label.v1`.
 */
export const LABEL_SCHEMA_VERSION = 'fraud-label.v1';

export const labelSchema = z.strictObject({
  event_id: z.string().regex(ID_PATTERN),
  user_id: z.string().regex(ID_PATTERN),
  label: z.enum(['fraud', 'legit']),
  /** When the label became known (epoch ms). */
  label_ts_ms: z.int().min(0),
  /** Event time of the labelled event (lets consumers find it without a lookup). */
  event_ts_ms: z.int().min(0),
});

export type FraudLabel = z.infer<typeof labelSchema>;

export function encodeLabel(label: FraudLabel): {
  key: string;
  value: string;
  headers: Record<string, string>;
} {
  const value = {
    event_id: label.event_id,
    user_id: label.user_id,
    label: label.label,
    label_ts_ms: label.label_ts_ms,
    event_ts_ms: label.event_ts_ms,
  };
  return { key: label.user_id, value: JSON.stringify(value), headers: { 'rs-schema': LABEL_SCHEMA_VERSION } };
}

/** Throws (zod error) on anything that is not a valid label. */
export function decodeLabel(value: string): FraudLabel {
  return labelSchema.parse(JSON.parse(value));
}
