import { describe, expect, it } from 'vitest';
import { fullTopicName, TOPIC_SPECS, TopicBase, topicSpec, topics } from '../../../src/provision/topics.ts';

describe('topics', () => {
  it('lists every topic of the product once, with its partition count', () => {
    expect(TOPIC_SPECS.map((t) => [t.base, t.partitions])).toEqual([
      ['payments.events', 12],
      ['payments.events.by-user', 12],
      ['payments.labels', 3],
      ['risk.scores', 12],
      ['risk.alerts', 3],
      ['merchant.windows', 12],
      ['merchant.alerts', 3],
      ['dlq.invalid', 3],
      ['dlq.processing', 3],
      ['dlq.late', 3],
    ]);
    expect(new Set(TOPIC_SPECS.map((t) => t.base)).size).toBe(TOPIC_SPECS.length);
    expect(Object.values(TopicBase).sort()).toEqual(TOPIC_SPECS.map((t) => t.base).sort());
  });

  it('keys payments.events by merchant and the by-user stream by user', () => {
    expect(topicSpec(TopicBase.events).key).toBe('merchant_id');
    expect(topicSpec(TopicBase.eventsByUser).key).toBe('user_id');
  });

  it('prefixes every name with the topic prefix, as given', () => {
    expect(fullTopicName('', 'risk.scores')).toBe('risk.scores');
    expect(fullTopicName('t1.', 'risk.scores')).toBe('t1.risk.scores');
    expect(topics('tenant-a.').map((t) => t.name)).toContain('tenant-a.payments.events.by-user');
    expect(topics('').every((t) => t.name === t.base)).toBe(true);
  });

  it('refuses an unknown base name', () => {
    expect(() => topicSpec('payments.event')).toThrow(/unknown topic "payments.event"/);
  });

  it('is frozen: nobody can change a partition count at run time', () => {
    expect(Object.isFrozen(TOPIC_SPECS)).toBe(true);
    expect(Object.isFrozen(TOPIC_SPECS[0])).toBe(true);
  });
});
