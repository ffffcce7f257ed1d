import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Config, loadConfig } from '../../src/runtime/config.ts';

/**
 * Helpers for tests against the real local stack (`npm run stack -- up`). Every test builds its
 * names with {@link uniqueName} so concurrent runs, other suites and leftovers of a crashed run
 * never share a topic, group, key or keyspace.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let counter = 0;

/**
 * A name unique to this process and call: `<kind>_<pid>_<time>_<n>`, lower case, [a-z0-9_] only,
 * so it is valid as a topic prefix, a Redis key prefix and a Cassandra keyspace name (≤ 48).
 */
export function uniqueName(kind: string): string {
  counter += 1;
  return `${kind}_${process.pid}_${Date.now().toString(36)}_${counter}`.toLowerCase();
}

/** The configuration the entry points would load, from the environment plus `overrides`. */
export function testConfig(overrides: Record<string, Record<string, unknown>> = {}): Readonly<Config> {
  return loadConfig(process.env, overrides);
}

export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `bash scripts/stack.sh <args>` in the repository and resolves with its exit code. */
export function runStack(args: readonly string[], timeoutMs = 300_000): Promise<ScriptResult> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['scripts/stack.sh', ...args],
      { cwd: REPO_ROOT, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return check();
}
