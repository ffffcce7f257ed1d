import type { PaymentEvent } from '../contract/event.ts';

export type FraudPattern = 'card_testing' | 'ring' | 'ato';

/** An event before ids and emission order are assigned: the contract's event without its id. */
export interface DraftEvent extends Omit<PaymentEvent, 'event_id' | 'metadata'> {
  readonly metadata?: Record<string, string>;
  readonly pattern: FraudPattern | null;
  /** Id of the planted merchant volume anomaly this event belongs to. */
  readonly anomaly: string | null;
}

/** Wire-ready event as the generator sends it: the contract's cleansed event, so the two cannot drift. */
export interface GeneratedEvent extends Omit<PaymentEvent, 'metadata'> {
  readonly metadata?: Record<string, string>;
}

/** Ground truth of one emission (one record sent). */
export interface EventTruth {
  readonly seq: number;
  readonly is_fraud: boolean;
  readonly pattern: FraudPattern | null;
  /** For an exact re-send: seq of the first emission of the same event_id. */
  readonly duplicate_of: number | null;
  /** Emitted more than allowedLateness + 30 min behind the stream's max event time. */
  readonly late: boolean;
  /** Emitted up to 5 min of event time behind (never late). */
  readonly out_of_order: boolean;
  readonly anomaly: string | null;
}

export interface Emission {
  readonly event: GeneratedEvent;
  readonly truth: EventTruth;
  /** Generator event-time clock when emitted (max over ts of emissions so far, incl. this). */
  readonly clock_ms: number;
}

export interface LabelRecord {
  readonly event_id: string;
  readonly user_id: string;
  readonly label: 'fraud' | 'legit';
  /** When the label becomes known (event time of the label stream). */
  readonly label_ts_ms: number;
  readonly event_ts_ms: number;
}

export interface AnomalyTruth {
  readonly anomaly: string;
  readonly merchant_id: string;
  readonly start_ms: number;
  readonly end_ms: number;
  readonly extra_events: number;
  /** Mean events per hour of this merchant outside the anomaly. */
  readonly baseline_per_hour: number;
}
