/**
 * Pieces shared by the in-process domain benchmarks (pipeline-domain.ts, merchant-sustained.ts):
 * what a partition batch does without I/O, timed by process CPU.
 */
import type { Pipeline } from '../src/runtime/actor.ts';
import type { DecodedItem } from '../src/runtime/batch-step.ts';
import type { InputRecord } from '../src/runtime/source.ts';

/** CPU µs (user + system) spent in `fn`, added to `acc[part]`. */
export function timed<P extends string, T>(acc: Record<P, number>, part: P, fn: () => T): T {
  const start = process.cpuUsage();
  const value = fn();
  const used = process.cpuUsage(start);
  acc[part] += used.user + used.system;
  return value;
}

/** The partition task's decode, restated (it is private to the runtime). */
export function decodeItem<M>(pipeline: Pipeline<M>, record: InputRecord): DecodedItem<M> {
  try {
    const message = pipeline.input.decode(record.value as Buffer);
    return { record, message, id: pipeline.input.idOf?.(message), eventTimeMs: pipeline.input.eventTimeOf(message) };
  } catch (err) {
    return { record, error: err as Error };
  }
}
