import type { EmitEffect } from './actor.ts';
import type { InputRecord } from './source.ts';

/**
 * Dead-letter record, the value of a message on a `dlq.*` topic (JSON, UTF-8):
 *
 *   {
 *     "v": 1,                               format version
 *     "source": { "topic", "partition", "offset" },
 *     "key_b64": string | null,             original key bytes
 *     "value_b64": string | null,           original value bytes, untouched
 *     "code": "DECODE_FAILED" | "HANDLER_FAILED" | "LATE_EVENT" | ...,
 *     "reason": string,                     human-readable cause
 *     "error_class": string,                class of the error that was thrown, or "none"
 *     "actor_type": string | null,          set when one actor type failed
 *     "event_time_ms": number | null,       when known
 *     "watermark_ms": number | null,        for late events
 *     "time_ms": number                     when the record was dead-lettered (wall clock)
 *   }
 *
 * The DLQ message key is `${topic}:${partition}:${offset}` so consumers and the replay command
 * can drop repeats (an outbox re-drain after a crash may emit the same record twice).
 */
export interface DeadLetter {
  readonly v: 1;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
  readonly key_b64: string | null;
  readonly value_b64: string | null;
  readonly code: string;
  readonly reason: string;
  readonly error_class: string;
  readonly actor_type: string | null;
  readonly event_time_ms: number | null;
  readonly watermark_ms: number | null;
  readonly time_ms: number;
}

export const DlqTopics = {
  invalid: 'dlq.invalid',
  processing: 'dlq.processing',
  late: 'dlq.late',
} as const;

export interface DeadLetterInput {
  readonly topic: string;
  readonly record: InputRecord;
  readonly dlqTopic: string;
  readonly code: string;
  readonly reason: string;
  readonly errorClass?: string;
  readonly actorType?: string;
  readonly eventTimeMs?: number;
  readonly watermarkMs?: number;
  readonly nowMs: number;
}

export function deadLetterEffect(input: DeadLetterInput): EmitEffect {
  const letter: DeadLetter = {
    v: 1,
    source: { topic: input.topic, partition: input.record.partition, offset: input.record.offset },
    key_b64: input.record.key ? input.record.key.toString('base64') : null,
    value_b64: input.record.value ? input.record.value.toString('base64') : null,
    code: input.code,
    reason: input.reason,
    error_class: input.errorClass ?? 'none',
    actor_type: input.actorType ?? null,
    event_time_ms: input.eventTimeMs ?? null,
    watermark_ms: input.watermarkMs ?? null,
    time_ms: input.nowMs,
  };
  return {
    type: 'emit',
    topic: input.dlqTopic,
    key: `${input.topic}:${input.record.partition}:${input.record.offset}`,
    value: JSON.stringify(letter),
  };
}
