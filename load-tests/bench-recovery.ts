/**
 * Recovery benchmark (PRODUCT §8: "a killed worker's partitions are processing again within
 * 15 s, with no loss and no double count").
 *
 *   npm run bench:recovery -- --json <file> [--kills 6] [--rate 2000] [--keys 20000] [--keep]
 *                             [--scenarios failover,restart,graceful] [--without-instance-ids]
 *
 * Two counter workers (the production worker entry point and its Kafka session settings; set
 * RISKSTREAM_KAFKA_SESSION_TIMEOUT_MS / _HEARTBEAT_INTERVAL_MS to try others) consume a 12-partition
 * topic fed live at `--rate` events/s, with re-sent duplicates and out-of-order events. Each kill
 * waits until the group is settled, then kill -9s one worker and measures, from the positions
 * the runtime stores in Redis, when each of its partitions committed again under a new owner.
 * Kills go round `failover` (the survivor takes over; a replacement joins afterwards),
 * `restart` (a replacement starts right after the kill under the victim's kafka.instanceId, as
 * Kubernetes restarts a container in its pod; `--without-instance-ids` starts every worker
 * without one, as before they existed) and
 * `graceful` (SIGTERM instead of kill -9, as in a rolling update; a replacement then joins). At the
 * end the traffic stops, the workers catch up, and every key's count and sum is compared with a
 * brute-force oracle of the acknowledged events. Writes the JSON (`recoveryMaxMs`,
 * `recoveryP50Ms`, `exact`, per-kill detail) and a markdown report beside it.
 * Needs the local stack up (Kafka, Redis); exit 1 when the target or the exactness check fails.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './processes.ts';
import { printRecoverySummary, writeRecoveryReport } from './recovery-report.ts';
import type { Scenario } from './recovery-rounds.ts';
import { runRecoveryBench } from './recovery-run.ts';

// The producer sets partitions itself; kafkajs's notice about its default partitioner is noise here.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    kills: { type: 'string', default: '6' },
    rate: { type: 'string', default: '2000' },
    keys: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '811' },
    keep: { type: 'boolean', default: false },
    'without-instance-ids': { type: 'boolean', default: false },
    scenarios: { type: 'string' },
  },
});
if (!values.json) {
  console.error('usage: npm run bench:recovery -- --json <file> [--kills 6] [--rate 2000] [--keys 20000] [--keep] [--scenarios failover,restart,graceful] [--without-instance-ids]');
  process.exit(2);
}
function parseScenarios(list: string): Scenario[] {
  const all: readonly string[] = ['failover', 'restart', 'graceful'];
  const out = list.split(',').map((s) => s.trim());
  const bad = out.filter((s) => !all.includes(s));
  if (out.length === 0 || bad.length > 0) {
    console.error(`--scenarios: unknown ${bad.join(', ') || '(empty)'}; one or more of ${all.join(', ')}`);
    process.exit(2);
  }
  return out as Scenario[];
}

const id = `recovery_${Date.now().toString(36)}`;
const logDir = join(REPO_ROOT, '.stack', 'tmp', 'bench', id);

async function main(): Promise<number> {
  const report = await runRecoveryBench({
    id, logDir, kills: Number(values.kills), eventsPerSecond: Number(values.rate), keys: Number(values.keys), seed: Number(values.seed),
    withoutInstanceIds: values['without-instance-ids'],
    ...(values.scenarios === undefined ? {} : { scenarios: parseScenarios(values.scenarios) }),
    progress: (line) => console.log(line),
  });
  const files = writeRecoveryReport(report, values.json!);
  printRecoverySummary(report, files);
  if (!values.keep) rmSync(logDir, { recursive: true, force: true });
  return report.exact && report.targetMet ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    console.error(`worker logs kept in ${logDir}`);
    process.exit(1);
  },
);
