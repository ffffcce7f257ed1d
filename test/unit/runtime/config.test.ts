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
});
