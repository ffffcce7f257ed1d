/**
 * What the machine was doing during a measurement: load average (as the other benchmarks record
 * it) and the CPU time each process of interest used, read from /proc (Linux). On a 2-core box
 * shared by Kafka, Cassandra, Redis and the workers, the CPU split says what limits a rate.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.ts';

const round = (x: number) => Math.round(x * 100) / 100;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run). */
const TICKS_PER_SECOND = 100;

export function loadAverage(): number[] {
  return os.loadavg().map(round);
}

/** utime + stime of a process in seconds, or NaN when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Peak resident set (VmHWM) of a process in MiB since it started, or NaN when it is gone. */
function peakRssMiB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Whole-machine busy and total CPU seconds (all cores) from /proc/stat. */
function machineSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** Pids of the local stack's services, from the stack script's pid files (.stack/run). */
export function stackPids(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const svc of ['kafka', 'cassandra', 'redis']) {
    try {
      const pid = Number(readFileSync(join(REPO_ROOT, '.stack', 'run', `${svc}.pid`), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0) out[svc] = pid;
    } catch {
      // not running from this checkout's stack: not sampled
    }
  }
  return out;
}

export interface CpuReport {
  readonly seconds: number;
  /** Cores used on average over the interval, per process (1.0 = one core busy all along). */
  readonly coresByProcess: Record<string, number>;
  /**
   * Peak RSS (VmHWM, MiB) of each process since it started, read at the end of the sample: a
   * worker's figure covers its whole life (warm-up and backfill too), the memory bound it needs.
   */
  readonly peakRssMiBByProcess: Record<string, number>;
  /** Cores busy on the whole machine (every process, including other engineers' work). */
  readonly machineCoresBusy: number;
  readonly cores: number;
  readonly loadAvgBefore: number[];
  readonly loadAvgAfter: number[];
}

/** Starts a CPU sample of the named processes (plus this one as `bench`); `stop()` reports. */
export function cpuSample(pids: Record<string, number | undefined>): { stop(): CpuReport } {
  const named = { ...pids, bench: process.pid };
  const before = new Map(Object.entries(named).map(([name, pid]) => [name, pid === undefined ? Number.NaN : cpuSeconds(pid)]));
  const machineBefore = machineSeconds();
  const loadAvgBefore = loadAverage();
  const started = performance.now();
  return {
    stop(): CpuReport {
      const seconds = (performance.now() - started) / 1000;
      const coresByProcess: Record<string, number> = {};
      for (const [name, pid] of Object.entries(named)) {
        const used = (pid === undefined ? Number.NaN : cpuSeconds(pid)) - (before.get(name) ?? Number.NaN);
        if (Number.isFinite(used)) coresByProcess[name] = round(used / seconds);
      }
      const peakRssMiBByProcess: Record<string, number> = {};
      for (const [name, pid] of Object.entries(named)) {
        const peak = pid === undefined ? Number.NaN : peakRssMiB(pid);
        if (Number.isFinite(peak)) peakRssMiBByProcess[name] = Math.round(peak * 10) / 10;
      }
      const machine = machineSeconds();
      return {
        seconds: round(seconds), coresByProcess, peakRssMiBByProcess, machineCoresBusy: round((machine.busy - machineBefore.busy) / seconds),
        cores: os.cpus().length, loadAvgBefore, loadAvgAfter: loadAverage(),
      };
    },
  };
}

/**
 * CPU per event (µs) of each process over the sample: less sensitive to other load on the
 * machine than a rate (a starved process waits, it does not burn more CPU per event).
 */
export function microsPerEvent(cpu: CpuReport, events: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, cores] of Object.entries(cpu.coresByProcess)) out[name] = Math.round((cores * cpu.seconds * 1e6) / events);
  return out;
}
