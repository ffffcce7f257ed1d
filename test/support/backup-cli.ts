import { execFile } from 'node:child_process';
import { REPO_ROOT } from './worker-process.ts';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `node --import tsx src/cli/backup.ts <args>` (what `npm run backup -- <args>` runs) with the
 * given RISKSTREAM_* settings over the test's environment.
 */
export function backupCli(args: readonly string[], env: Readonly<Record<string, string>>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/backup.ts', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 170_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** The JSON summary the CLI prints as its last stdout line. */
export function cliSummary<T>(result: CliResult): T {
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? 'null') as T;
}
