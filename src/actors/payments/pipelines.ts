import { resolveMerchantStatsConfig } from '../../analytics/merchant-stats.ts';
import { resolveWindowConfig } from '../../analytics/windows.ts';
import type { IngestedEvent } from '../../contract/event.ts';
import { decodeEvent, wireValueOf } from '../../contract/wire.ts';
import { erase, type InputSpec, type Pipeline, rekeyer } from '../../runtime/actor.ts';
import { merchantActor } from '../merchant/merchant-actor.ts';
import { type ScoringContext, userActor } from '../user/user-actor.ts';
import { resolveUserFeatureConfig } from '../../analytics/user-features.ts';

export const EVENTS_TOPIC = 'payments.events';
export const EVENTS_BY_USER_TOPIC = 'payments.events.by-user';

export interface PaymentsPipelineOptions {
  readonly windowMs?: number;
  readonly slideMs?: number;
}

/** `keepWire`: remember each record's text for re-publishing it as is (see wireValueOf). */
function eventInput(topic: string, late: 'dlq' | 'accept', keepWire = false): InputSpec<IngestedEvent> {
  return { topic, decode: (value) => decodeEvent(value, keepWire), idOf: (e) => e.event_id, eventTimeOf: (e) => e.ts_ms, late };
}

/**
 * payments.events (keyed by merchant): merchant windows and stats, and the re-keyer that feeds
 * the user actors. Late events are decided here, once, and dead-lettered; what is re-keyed is
 * exactly the accepted, deduplicated stream.
 */
export function merchantPipeline(options: PaymentsPipelineOptions = {}): Pipeline<IngestedEvent> {
  const windows = resolveWindowConfig(options);
  return {
    name: 'merchant',
    // Aligned: the re-keyed stream interleaves merchant partitions in arrival order, so one far
    // ahead in a replay would show users a history with hours missing (runtime/alignment.ts).
    input: { ...eventInput(EVENTS_TOPIC, 'dlq', true), align: true },
    actors: [
      erase(merchantActor({ windows, stats: resolveMerchantStatsConfig() })),
      // The record's own text when it is in the API's wire form (no JSON.stringify per event).
      rekeyer<IngestedEvent>('rekey-user', EVENTS_BY_USER_TOPIC, (e) => e.user_id, wireValueOf),
    ],
  };
}

/** Input spec of payments.events.by-user: order is shuffled by re-keying, lateness was decided upstream. */
export function byUserInput(): InputSpec<IngestedEvent> {
  return eventInput(EVENTS_BY_USER_TOPIC, 'accept');
}

/** payments.events.by-user (keyed by user): features and a risk score for every payment. */
export function userPipeline(scoring: ScoringContext, options: { allowedLatenessMs?: number } = {}): Pipeline<IngestedEvent> {
  const features = resolveUserFeatureConfig(options.allowedLatenessMs === undefined ? {} : { allowedLatenessMs: options.allowedLatenessMs });
  return { name: 'user', input: byUserInput(), actors: [erase(userActor({ features }, scoring))] };
}
