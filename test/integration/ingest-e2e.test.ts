import { describe, expect, it } from 'vitest';
import { runIngestE2e } from '../../load-tests/ingest-e2e.ts';

// CI-sized end-to-end run (the 200k run is `npm run e2e:ingest`): generator → API child →
// Kafka → archiver child, kill -9'd once it has committed segments, restarted → bronze.
describe('ingest end to end', () => {
  it('30k generated events land in Kafka and in bronze exactly once across an archiver kill -9', async () => {
    const report = await runIngestE2e({ events: 30_000, seed: 'ci', killArchiverAt: 0.3, rate: 6_000 });
    const emissions = report.emissions;
    expect(emissions).toBeGreaterThan(30_000); // duplicates come on top of the unique events
    expect(report.accepted).toBe(emissions);
    expect(report.kafkaRecords).toBe(emissions);
    expect(report.bronzeRows).toBe(emissions);
    expect(report.bronzeDistinctOffsets).toBe(emissions);
    expect(report.bronzeDistinctEventIds).toBe(30_000);
    expect(report.eventIdCountMismatches).toBe(0);
    expect(report.partitionMismatches).toBe(0);
    expect(Math.abs(report.amountSumDelta)).toBeLessThan(1e-9);
    expect(report.archiverKills).toBe(1);
    expect(report.bronzeWriters).toBe(2);
    expect(report.ok).toBe(true);
  }, 600_000);
});
