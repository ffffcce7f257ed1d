import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChildResult } from '../../../src/cli/bench-runtime-child.ts';
import { buildReport, type ReportInput, writeReport } from '../../../src/cli/bench-runtime-report.ts';

function child(role: ChildResult['role'], eventsPerSecond: number, extra: Partial<ChildResult> = {}): ChildResult {
  const events = 1_000_000;
  return {
    role, events, seconds: events / eventsPerSecond, eventsPerSecond, cpuMicrosPerEvent: 2_000_000 / eventsPerSecond,
    peakRssMiB: 300, memoryAtPeakMiB: {}, ...extra,
  };
}

function input(extra: Partial<ReportInput> = {}): ReportInput {
  return {
    topic: 't', partitions: 12, events: 1_000_000, keys: 1_000_000, prefillSeconds: null,
    raw: child('raw', 600_000), runtime: child('runtime', 150_000, { commitMs: [10, 20, 30, 40] }),
    concurrency: 4, maxBytesPerPartition: 1 << 20, maxActiveActors: 200_000, mailboxCapacity: 2000, heapMiB: 352,
    semiSpaceMiB: 8, redisCpuMicros: 4_000_000, peakRssMiB: 380, runs: { raw: [600_000], runtime: [150_000] },
    loadAverage: [1, 1], ...extra,
  };
}

describe('bench:runtime report', () => {
  it('has no ceiling unless measured, and judges the targets on the Redis run', () => {
    const report = buildReport(input());
    expect(report.ceiling).toBeUndefined();
    expect(report.ratio).toBe(0.25);
    expect(report.targetsMet).toEqual({ eventsPerSecond: true, ratio: false, peakRss: true });
  });

  it('reports the engine-without-storage run against the same raw rate, without changing the targets', () => {
    const ceiling = { median: child('runtime', 240_000, { peakRssMiB: 355.04 }), runs: [230_000, 240_000, 250_000] };
    const report = buildReport(input({ ceiling }));
    expect(report.ceiling).toEqual({ eventsPerSecond: 240_000, ratio: 0.4, cpuMicrosPerEvent: 8.33, peakRssMiB: 355, runs: [230_000, 240_000, 250_000] });
    expect(report.ratio).toBe(0.25);
    expect(report.targetsMet.ratio).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    const files = writeReport(report, join(dir, 'r.json'));
    expect(readFileSync(files.markdown, 'utf8')).toContain('| engine without storage (diagnostic) | 240,000 events/s, 40.0% of raw, 8.33 µs CPU per event');
    expect(JSON.parse(readFileSync(files.json, 'utf8')).ceiling.ratio).toBe(0.4);
  });
});
