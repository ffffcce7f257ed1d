import { describe, expect, it } from 'vitest';
import { missingHeapFlags, withMallocSettings } from '../../../src/cli/heap-budget.ts';

describe('worker heap budget', () => {
  const budget = { heapMib: 352, semiSpaceMib: 8 };

  it('asks for both caps when neither the command line nor NODE_OPTIONS sets them', () => {
    expect(missingHeapFlags(budget, ['--import', 'tsx'], '')).toEqual(['--max-old-space-size=352', '--max-semi-space-size=8']);
  });

  it('leaves caps given on the command line or in NODE_OPTIONS (either spelling) alone', () => {
    expect(missingHeapFlags(budget, ['--max-old-space-size=200'], '')).toEqual(['--max-semi-space-size=8']);
    expect(missingHeapFlags(budget, [], '--max_semi_space_size=4 --max-old-space-size=300')).toEqual([]);
  });

  it('skips a cap set to 0 (V8 default)', () => {
    expect(missingHeapFlags({ heapMib: 0, semiSpaceMib: 8 }, [], undefined)).toEqual(['--max-semi-space-size=8']);
  });
});

describe('worker malloc settings', () => {
  it('adds a fixed glibc mmap threshold to the environment unless one is set', () => {
    expect(withMallocSettings({ PATH: '/bin' })).toEqual({ PATH: '/bin', MALLOC_MMAP_THRESHOLD_: '131072' });
    expect(withMallocSettings({ MALLOC_MMAP_THRESHOLD_: '65536' }).MALLOC_MMAP_THRESHOLD_).toBe('65536');
  });
});
