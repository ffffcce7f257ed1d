import { type FieldError, ID_PATTERN, type ValidateOptions } from '../../contract/event.ts';
import { validateEventFast } from '../../contract/event-fast.ts';
import { encodeEvent, type WireRecord } from '../../contract/wire.ts';
import type { DecodedItem } from './body.ts';
import type { RecordSink } from './ports.ts';

/** Outcome of one event of a request. */
export type EventResult =
  | { readonly index: number; readonly event_id: string; readonly status: 'accepted' }
  | {
      readonly index: number;
      readonly event_id?: string;
      readonly status: 'rejected';
      readonly errors: FieldError[];
    };

export type IngestOutcome =
  | {
      readonly kind: 'done';
      readonly results: EventResult[];
      readonly accepted: number;
      readonly rejected: number;
    }
  /** Kafka did not acknowledge: NO event of the request is reported accepted. */
  | { readonly kind: 'unavailable'; readonly error: Error; readonly rejected: number };

export interface IngestDeps {
  readonly sink: RecordSink;
  readonly topic: string;
  readonly nowMs: () => number;
  readonly validate: Omit<ValidateOptions, 'nowMs'>;
}

/**
 * Validates every item, sends all valid ones in ONE sink call and waits for the ack.
 * Invariant: an event is reported accepted only if that call resolved; if it rejects the
 * whole request is `unavailable` (valid events are not reported rejected either: the client
 * retries the request as is; event_id makes the retry idempotent downstream).
 */
export async function ingest(items: readonly DecodedItem[], deps: IngestDeps): Promise<IngestOutcome> {
  const nowMs = deps.nowMs();
  const options = { ...deps.validate, nowMs };
  const results: EventResult[] = [];
  const records: WireRecord[] = [];
  let rejected = 0;
  items.forEach((item, index) => {
    if ('error' in item) {
      rejected += 1;
      results.push({ index, status: 'rejected', errors: [item.error] });
      return;
    }
    const checked = validateEventFast(item.value, options);
    if (checked.ok) {
      records.push(encodeEvent(checked.event, nowMs));
      results.push({ index, event_id: checked.event.event_id, status: 'accepted' });
    } else {
      rejected += 1;
      results.push({
        index,
        event_id: eventIdOf(item.value),
        status: 'rejected',
        errors: [...checked.errors],
      });
    }
  });
  if (records.length > 0) {
    try {
      await deps.sink.send(deps.topic, records);
    } catch (error) {
      return { kind: 'unavailable', error: error as Error, rejected };
    }
  }
  return { kind: 'done', results, accepted: records.length, rejected };
}

/** The event_id echoed in a rejection, only when it is itself a valid id (no reflection of junk). */
function eventIdOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const id = (value as Record<string, unknown>).event_id;
  return typeof id === 'string' && ID_PATTERN.test(id) ? id : undefined;
}
