import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RoundResult } from './recovery-rounds.ts';

/** The recovery benchmark's result file: times in ms. */
export interface RecoveryReport {
  /** Median and highest kill → processing-again time over every moved partition of every kill. */
  readonly recoveryP50Ms: number;
  readonly recoveryMaxMs: number;
  readonly detectP50Ms: number | null;
  /** Slowest partition of the graceful stops (SIGTERM), if any: not part of the target. */
  readonly gracefulMaxMs: number | null;
  /** Per scenario that ran: kills, and median and highest kill → processing again over its moved partitions. */
  readonly byScenario: Readonly<Record<string, { readonly kills: number; readonly p50Ms: number; readonly maxMs: number }>>;
  /** kill -9 rounds (failover and restart). */
  readonly kills: number;
  readonly movedPartitions: number;
  readonly rounds: readonly RoundResult[];
  /** The counter states equal the oracle of the acknowledged events (no loss, no double count). */
  readonly exact: boolean;
  readonly mismatchedKeys: number;
  readonly mismatchExamples: readonly string[];
  readonly keys: number;
  readonly eventsSent: number;
  readonly duplicatesSent: number;
  readonly settings: Readonly<Record<string, number | string>>;
  readonly target: { readonly maxRecoveryMs: number };
  readonly targetMet: boolean;
  readonly measuredAt: string;
}

export const TARGET_MAX_RECOVERY_MS = 15_000;

/** Per scenario: how many rounds, and median and max of their partitions' recovery times. */
export function byScenario(rounds: readonly RoundResult[]): RecoveryReport['byScenario'] {
  const out: Record<string, { kills: number; p50Ms: number; maxMs: number }> = {};
  for (const name of new Set(rounds.map((r) => r.scenario))) {
    const mine = rounds.filter((r) => r.scenario === name);
    const times = mine.flatMap((r) => r.recoveryMs);
    out[name] = { kills: mine.length, p50Ms: median(times), maxMs: Math.max(...times) };
  }
  return out;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const secs = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(2)} s`);

function lines(r: RecoveryReport): string[] {
  const verdict = r.targetMet ? 'met' : 'MISSED';
  return [
    `| kill → partitions processing again | median ${secs(r.recoveryP50Ms)}, max ${secs(r.recoveryMaxMs)} over ${r.movedPartitions} moved partitions of ${r.kills} kill -9s — target ≤ ${secs(r.target.maxRecoveryMs)}: ${verdict} |`,
    ...Object.entries(r.byScenario).map(([name, s]) => `| ${name} (${s.kills}) → partitions processing again | median ${secs(s.p50Ms)}, max ${secs(s.maxMs)} |`),
    `| kill → group noticed (new assignment) | median ${secs(r.detectP50Ms)} (Kafka session timeout ${r.settings.sessionTimeoutMs} ms, heartbeat ${r.settings.heartbeatIntervalMs} ms) |`,
    `| exactly once | ${r.exact ? 'yes' : 'NO'}: ${r.keys.toLocaleString('en')} keys equal the oracle of ${r.eventsSent.toLocaleString('en')} events sent (${r.duplicatesSent.toLocaleString('en')} re-sent duplicates); ${r.mismatchedKeys} keys differ |`,
  ];
}

function roundRow(r: RoundResult): string {
  const parts = r.partitions.map((p, i) => `${p}: ${secs(r.recoveryMs[i]!)}`).join(', ');
  return `| ${r.round} | ${r.scenario} | ${secs(r.detectMs)} | ${secs(r.maxRecoveryMs)} | ${parts} | ${secs(r.othersMaxStallMs)} | ${secs(r.joinMaxStallMs)} |`;
}

/** Writes the JSON and `<name>.md` beside it. */
export function writeRecoveryReport(report: RecoveryReport, jsonPath: string): { json: string; markdown: string } {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const markdown = `${jsonPath.replace(/\.json$/, '')}.md`;
  const settings = Object.entries(report.settings).map(([k, v]) => `${k}=${v}`).join(', ');
  writeFileSync(markdown, [
    '# Recovery benchmark', '', `Measured ${report.measuredAt} (${settings}).`, '', '| | |', '|---|---|', ...lines(report), '',
    '| kill | scenario | group noticed | slowest partition | per moved partition | other partitions\' longest pause | replacement join: longest pause |',
    '|---|---|---|---|---|---|---|', ...report.rounds.map(roundRow), '',
    'A partition is processing again when its stored position (Redis) advanced under a new fencing epoch: another worker',
    'claimed it and committed input past where the killed one stopped. Positions are sampled every 20 ms.', '',
  ].join('\n'));
  return { json: jsonPath, markdown };
}

export function printRecoverySummary(report: RecoveryReport, files: { json: string; markdown: string }): void {
  console.log('');
  for (const line of lines(report)) console.log(line.replace(/^\| /, '  ').replace(/ \| /, ': ').replace(/ \|$/, ''));
  for (const r of report.rounds) {
    console.log(`  kill ${r.round} (${r.scenario}): noticed ${secs(r.detectMs)}, partitions ${r.partitions.join(',')} processing again by ${secs(r.maxRecoveryMs)}`);
  }
  console.log(`\n  wrote ${files.json} and ${files.markdown}`);
}
