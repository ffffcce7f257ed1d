import { ErrorCodes, RiskstreamError } from '../runtime/errors.ts';

/**
 * The one list of riskstream's Kafka topics: base names, partition counts and keys.
 * Provisioning (`npm run provision`, {@link ensureTopics}) creates exactly these; code that
 * produces or consumes builds names with {@link fullTopicName} so a `kafka.topicPrefix` lets
 * tests and tenants share a cluster.
 *
 * Partition counts are the unit of parallelism and are hard to change later (a key's partition
 * moves): the keyed streams get 12 (up to 12 worker replicas), low-volume streams 3.
 */
export interface TopicSpec {
  /** Name without prefix, e.g. `payments.events`. */
  readonly base: string;
  readonly partitions: number;
  /** What the record key is; every record on a keyed topic must carry it. */
  readonly key: string;
  /** Topic-level configs passed to CreateTopics (strings, as Kafka takes them). */
  readonly configs: Readonly<Record<string, string>>;
}

/** A topic with its prefixed name, ready to create or use. */
export interface Topic extends TopicSpec {
  readonly name: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Events and scores: 7 days, enough to rebuild state or replay a day's incident. */
const sevenDays = { 'retention.ms': String(7 * DAY_MS) };
/** Dead letters are kept 30 days for inspection and replay. */
const thirtyDays = { 'retention.ms': String(30 * DAY_MS) };

/** Base names, for code that needs one topic: `TopicBase.events`. */
export const TopicBase = {
  events: 'payments.events',
  eventsByUser: 'payments.events.by-user',
  labels: 'payments.labels',
  scores: 'risk.scores',
  riskAlerts: 'risk.alerts',
  merchantWindows: 'merchant.windows',
  merchantAlerts: 'merchant.alerts',
  dlqInvalid: 'dlq.invalid',
  dlqProcessing: 'dlq.processing',
  dlqLate: 'dlq.late',
} as const satisfies Record<string, string>;
export const TOPIC_SPECS: readonly TopicSpec[] = Object.freeze(
  [
    { base: TopicBase.events, partitions: 12, key: 'merchant_id', configs: sevenDays },
    { base: TopicBase.eventsByUser, partitions: 12, key: 'user_id', configs: sevenDays },
    { base: TopicBase.labels, partitions: 3, key: 'user_id', configs: thirtyDays },
    { base: TopicBase.scores, partitions: 12, key: 'user_id', configs: sevenDays },
    { base: TopicBase.riskAlerts, partitions: 3, key: 'user_id', configs: thirtyDays },
    { base: TopicBase.merchantWindows, partitions: 12, key: 'merchant_id', configs: sevenDays },
    { base: TopicBase.merchantAlerts, partitions: 3, key: 'merchant_id', configs: thirtyDays },
    { base: TopicBase.dlqInvalid, partitions: 3, key: 'event_id', configs: thirtyDays },
    { base: TopicBase.dlqProcessing, partitions: 3, key: 'event_id', configs: thirtyDays },
    { base: TopicBase.dlqLate, partitions: 3, key: 'event_id', configs: thirtyDays },
  ].map((spec) => Object.freeze({ ...spec, configs: Object.freeze({ ...spec.configs }) })),
);

export type TopicBaseName = (typeof TopicBase)[keyof typeof TopicBase];

/**
 * Full topic name: the prefix followed by the base name, with no separator added (a prefix
 * carries its own, e.g. `test-42.`).
 */
export function fullTopicName(topicPrefix: string, base: string): string {
  return `${topicPrefix}${base}`;
}

/** Every topic with its full name under `topicPrefix` (config.kafka.topicPrefix). */
export function topics(topicPrefix: string): readonly Topic[] {
  return TOPIC_SPECS.map((spec) => ({ ...spec, name: fullTopicName(topicPrefix, spec.base) }));
}

/** The spec of one base name; throws on an unknown name (a typo must not create a topic). */
export function topicSpec(base: string): TopicSpec {
  const spec = TOPIC_SPECS.find((s) => s.base === base);
  if (!spec) {
    const known = TOPIC_SPECS.map((s) => s.base).join(', ');
    throw new RiskstreamError(ErrorCodes.configInvalid, `unknown topic "${base}"; known: ${known}`);
  }
  return spec;
}
