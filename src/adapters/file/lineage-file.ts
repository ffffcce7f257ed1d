import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LineageSink } from '../../batch/lineage.ts';

/**
 * OpenLineage's file transport: one run event per line in `<dir>/<UTC date of the event>.jsonl`.
 * Appends are single writes of a whole line to a file opened for appending, so lines of
 * concurrent batch processes never interleave. DuckDB reads the files as they are
 * (`read_json_auto('<dir>/*.jsonl')`).
 */
export class FileLineageSink implements LineageSink {
  readonly #dir: string;
  #ready: Promise<unknown> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async emit(event: Readonly<Record<string, unknown>>): Promise<void> {
    this.#ready ??= mkdir(this.#dir, { recursive: true });
    await this.#ready;
    const day = String(event.eventTime ?? new Date().toISOString()).slice(0, 10);
    await appendFile(join(this.#dir, `${day}.jsonl`), `${JSON.stringify(event)}\n`);
  }
}
