/**
 * The V8 heap budget of a long-running process (the worker). V8 sizes its heap from the
 * machine's RAM, not from a container's memory limit, so without caps a worker lets garbage pile
 * up until the container is OOM-killed (bench:runtime: ~800 MiB uncapped vs ≤ 512 MiB capped).
 *
 * Heap flags only take effect at start-up, so an entry point started without them replaces
 * itself (`process.execve`: same pid, same stdio, so supervisors, signals and `kill -9` see one
 * process) with the same command plus the missing flags. Flags already given on the command
 * line or in NODE_OPTIONS (the k8s manifests in deploy/k8s) win: nothing is re-executed.
 */
export interface HeapBudget {
  /** `--max-old-space-size`, MiB; 0 leaves V8's default. */
  readonly heapMib: number;
  /** `--max-semi-space-size`, MiB; 0 leaves V8's default. */
  readonly semiSpaceMib: number;
}

/** The flags of `budget` that neither `execArgv` nor `nodeOptions` already sets. */
export function missingHeapFlags(budget: HeapBudget, execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((arg) => arg.replace(/_/g, '-').split('=')[0]);
  const wanted: [string, number][] = [
    ['--max-old-space-size', budget.heapMib],
    ['--max-semi-space-size', budget.semiSpaceMib],
  ];
  return wanted.filter(([flag, mib]) => mib > 0 && !given.includes(flag)).map(([flag, mib]) => `${flag}=${mib}`);
}

/**
 * Re-executes this process with the budget's missing heap flags; returns (having done nothing)
 * when none is missing or the platform cannot exec in place, after telling `warn` why.
 */
export function applyHeapBudget(budget: HeapBudget, warn: (message: string) => void): void {
  const missing = missingHeapFlags(budget, process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length === 0) return;
  if (typeof process.execve !== 'function') {
    warn(`cannot apply heap flags ${missing.join(' ')} (no process.execve); pass them in NODE_OPTIONS`);
    return;
  }
  // execve keeps the pid; the new image sees the flags in process.execArgv, so it does not loop.
  process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], withMallocSettings(process.env));
}

/**
 * glibc's malloc raises its mmap threshold each time a large block it mapped is freed, so after
 * the first freed fetch response (~1 MiB) later ones come from the main heap, which it can only
 * shrink from the top: a user worker's [heap] mapping held ~190 MiB against ~43 MiB of live
 * Buffers (bench:memory). A fixed threshold keeps large blocks mapped and returned on free (peak
 * RSS 546 → 499 MiB in the same run, same throughput). Read by glibc at start-up only, hence here;
 * the container sets it itself (deploy/k8s, Dockerfile). Other C libraries ignore it.
 */
export const MALLOC_SETTINGS: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

export function withMallocSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...MALLOC_SETTINGS, ...env };
}
