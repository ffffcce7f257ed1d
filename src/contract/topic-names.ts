/**
 * Topic names this feature writes or reads. The provisioning module (src/provision/topics.ts)
 * owns partition counts and configs; these base names must match it. Every name is prefixed
 * with `kafka.topicPrefix` so tests and tenants can share a cluster.
 */
export const TopicNames = {
  /** Accepted payment events, key merchant_id, 12 partitions. */
  events: 'payments.events',
  /** Delayed fraud labels (confirmed fraud / legit), key user_id. */
  labels: 'payments.labels',
} as const;

export function topicName(prefix: string, base: string): string {
  return `${prefix}${base}`;
}
