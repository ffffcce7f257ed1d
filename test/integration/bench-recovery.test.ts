import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../load-tests/processes.ts';
import { runRecoveryBench } from '../../load-tests/recovery-run.ts';

// The recovery benchmark (`npm run bench:recovery`) at a CI size: one failover and one restart
// kill -9 of a counter worker under live traffic. How fast partitions move is the benchmark's
// business on a quiet machine; asserted here is what it must get right whatever the timing: it
// found the victim's partitions, saw each processing again under a new owner (after the claim,
// after the group noticed), and the final counts equal the oracle of the acknowledged events.
describe('recovery benchmark on the local stack', () => {
  it('measures each moved partition and ends exactly once after a failover and a restart', async () => {
    const previous = { ...process.env };
    // a shorter session than production's so the two kills fit a CI run; the workers inherit it
    process.env.RISKSTREAM_KAFKA_SESSION_TIMEOUT_MS = '6000';
    process.env.RISKSTREAM_KAFKA_HEARTBEAT_INTERVAL_MS = '1000';
    try {
      const id = `recovery_ci_${Date.now().toString(36)}`;
      const report = await runRecoveryBench({ id, logDir: join(REPO_ROOT, '.stack', 'tmp', 'bench', id), kills: 2, eventsPerSecond: 400, keys: 2_000, seed: 7 });
      expect(report.rounds.map((r) => r.scenario)).toEqual(['failover', 'restart']);
      expect(report.settings.sessionTimeoutMs).toBe(6_000);
      for (const round of report.rounds) {
        // two workers share 12 partitions: the victim held some but not all of them
        expect(round.partitions.length).toBeGreaterThan(0);
        expect(round.partitions.length).toBeLessThan(12);
        expect(round.recoveryMs).toHaveLength(round.partitions.length);
        round.recoveryMs.forEach((ms, i) => {
          expect(ms).toBeGreaterThanOrEqual(round.claimMs[i]!);
          expect(ms).toBeGreaterThan(0);
        });
        expect(round.detectMs).not.toBeNull();
        expect(round.maxRecoveryMs).toBeGreaterThanOrEqual(round.detectMs!);
      }
      // the failover's replacement is a new pod; the restart's has the victim's instance id
      expect(report.rounds[0]!.removedMembers).toEqual([]);
      expect(report.rounds[1]!.removedMembers).toEqual([report.rounds[1]!.victimMemberId]);
      expect(report.movedPartitions).toBe(report.rounds.reduce((n, r) => n + r.partitions.length, 0));
      expect(report.eventsSent).toBeGreaterThan(1_000);
      expect(report.duplicatesSent).toBeGreaterThan(0);
      expect(report.mismatchExamples).toEqual([]);
      expect(report.exact).toBe(true);
    } finally {
      process.env = previous;
    }
  }, 300_000);

  it('a worker restarted under its instance id removes its dead predecessor instead of waiting for its session', async () => {
    const previous = { ...process.env };
    // A session far longer than start-up: without the removal nothing could move before it ends.
    process.env.RISKSTREAM_KAFKA_SESSION_TIMEOUT_MS = '45000';
    process.env.RISKSTREAM_KAFKA_HEARTBEAT_INTERVAL_MS = '1000';
    try {
      const id = `recovery_restart_${Date.now().toString(36)}`;
      const report = await runRecoveryBench({
        id, logDir: join(REPO_ROOT, '.stack', 'tmp', 'bench', id), kills: 1, scenarios: ['restart'], eventsPerSecond: 400, keys: 2_000, seed: 9,
      });
      const [round] = report.rounds;
      expect(round!.scenario).toBe('restart');
      expect(round!.victimMemberId).toMatch(/^riskstream-worker-pod-\d+-/);
      expect(round!.removedMembers).toEqual([round!.victimMemberId]);
      expect(round!.partitions.length).toBeGreaterThan(0);
      // the coordinator would have kept the dead member for 45 s
      expect(round!.maxRecoveryMs).toBeLessThan(45_000);
      expect(report.exact).toBe(true);
    } finally {
      process.env = previous;
    }
  }, 300_000);
});
