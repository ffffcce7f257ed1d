import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/config.ts';

describe('loadConfig environment', () => {
  it('ignores the stack tooling variable but still refuses unknown sections', () => {
    expect(loadConfig({ RISKSTREAM_STACK_DIR: '/somewhere/.stack' }).runtime.mailboxCapacity).toBe(2_000);
    expect(() => loadConfig({ RISKSTREAM_STACKS_DIR: '/x' })).toThrow(/unknown config section "stacks"/);
  });

  it('reads the worker heap caps and the drain bound', () => {
    const config = loadConfig({ RISKSTREAM_RUNTIME_HEAP_MIB: '300', RISKSTREAM_RUNTIME_MAX_UNDRAINED_COMMITS: '0' });
    expect(config.runtime.heapMib).toBe(300);
    expect(config.runtime.semiSpaceMib).toBe(8);
    expect(config.runtime.maxUndrainedCommits).toBe(0);
  });

  it('reads booleans as the words true/false only, and the new drain settings', () => {
    expect(loadConfig({}).redis.autoPipelining).toBe(true);
    expect(loadConfig({ RISKSTREAM_REDIS_AUTO_PIPELINING: 'true' }).redis.autoPipelining).toBe(true);
    expect(loadConfig({ RISKSTREAM_REDIS_AUTO_PIPELINING: 'false' }).redis.autoPipelining).toBe(false);
    expect(() => loadConfig({ RISKSTREAM_REDIS_AUTO_PIPELINING: 'yes' })).toThrow(/redis\.autoPipelining/);
    const config = loadConfig({ RISKSTREAM_RUNTIME_OUTBOX_ACK_INTERVAL_MS: '0', RISKSTREAM_KAFKA_FETCH_MIN_BYTES: '65536' });
    expect(config.runtime.outboxAckIntervalMs).toBe(0);
    expect(config.kafka.fetchMinBytes).toBe(65_536);
    expect(loadConfig({}).runtime.outboxAckIntervalMs).toBe(50);
  });

  it('reads an instance id that can be part of a Kafka client id, empty by default', () => {
    expect(loadConfig({}).kafka.instanceId).toBe('');
    expect(loadConfig({ RISKSTREAM_KAFKA_INSTANCE_ID: 'riskstream-worker-user-7f9c-x2k' }).kafka.instanceId).toBe('riskstream-worker-user-7f9c-x2k');
    expect(() => loadConfig({ RISKSTREAM_KAFKA_INSTANCE_ID: 'pod 1' })).toThrow(/kafka\.instanceId/);
    expect(() => loadConfig({ RISKSTREAM_KAFKA_INSTANCE_ID: '-x' })).toThrow(/kafka\.instanceId/);
    expect(() => loadConfig({ RISKSTREAM_KAFKA_INSTANCE_ID: 'x'.repeat(101) })).toThrow(/kafka\.instanceId/);
  });
});
