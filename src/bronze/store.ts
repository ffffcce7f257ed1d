import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCodes, RiskstreamError } from '../runtime/errors.ts';
import {
  dataPath,
  markerDir,
  markerPath,
  partTag,
  type SegmentFile,
  type SegmentMarker,
  tmpPath,
} from './layout.ts';

/** Encodes one bucket's columns to file bytes (the Parquet adapter, injected). */
export type Encode<C> = (columns: C) => Uint8Array;

/**
 * The bronze directory as a segment store, implementing the commit protocol of layout.ts on a
 * local (POSIX) file system. One instance per archiver process; `writer` tags its temp files.
 */
export class BronzeStore {
  readonly #dir: string;
  readonly writer: string;
  /** Temp files younger than this are left alone by recovery (a live zombie may own them). */
  readonly #orphanAgeMs: number;

  constructor(dir: string, orphanAgeMs = 60_000) {
    this.#dir = dir;
    this.writer = `w${randomBytes(4).toString('hex')}`;
    this.#orphanAgeMs = orphanAgeMs;
  }

  /** Committed markers of a partition, in chain order; throws if the chain is broken. */
  async markers(partition: number): Promise<SegmentMarker[]> {
    const dir = join(this.#dir, markerDir(partition));
    const names = (await readdir(dir).catch(() => [] as string[]))
      .filter((n) => /^\d{20}\.json$/.test(n))
      .sort();
    const markers: SegmentMarker[] = [];
    for (const name of names)
      markers.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as SegmentMarker);
    for (let i = 1; i < markers.length; i += 1) {
      if (BigInt(markers[i]!.first) !== BigInt(markers[i - 1]!.last) + 1n) {
        throw new RiskstreamError(ErrorCodes.sinkFailed, `bronze chain broken at partition ${partition}`, {
          context: { partition, first: markers[i]!.first, previousLast: markers[i - 1]!.last },
        });
      }
    }
    return markers;
  }

  /**
   * Makes a partition consistent after a crash and returns the next offset to archive
   * (undefined: nothing archived yet). Rolls committed segments forward (temp → final),
   * deletes this partition's temp files that no marker references and that are old enough.
   */
  async recover(partition: number, nowMs: number): Promise<bigint | undefined> {
    const markers = await this.markers(partition);
    const referenced = new Set<string>();
    for (const m of markers) for (const f of m.files) await this.#rollForward(f, referenced);
    const tmpDir = join(this.#dir, '_tmp');
    const tag = `-${partTag(partition)}-`;
    for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
      const rel = `_tmp/${name}`;
      if (!name.includes(tag) || referenced.has(rel)) continue;
      const age = nowMs - (await stat(join(this.#dir, rel))).mtimeMs;
      if (age >= this.#orphanAgeMs || name.startsWith(`${this.writer}-`))
        await unlink(join(this.#dir, rel)).catch(() => undefined);
    }
    const last = markers.at(-1);
    return last === undefined ? undefined : BigInt(last.last) + 1n;
  }

  /**
   * Commits offsets first..last of `partition`, already split into buckets. Returns false if
   * another writer committed a segment starting at `first` (this one is discarded: resync).
   */
  async commit<C>(
    topic: string,
    partition: number,
    first: bigint,
    last: bigint,
    buckets: Map<string, C & { kafka_offset: unknown[] }>,
    encode: Encode<C>,
    nowMs: number,
  ): Promise<boolean> {
    const files: SegmentFile[] = [];
    for (const [bucket, columns] of buckets) {
      const tmp = tmpPath(this.writer, bucket, partition, first, last);
      await this.#writeDurably(tmp, encode(columns));
      files.push({
        bucket,
        rows: columns.kafka_offset.length,
        path: dataPath(bucket, partition, first, last),
        tmp,
      });
    }
    const marker: SegmentMarker = {
      version: 1,
      topic,
      partition,
      first: String(first),
      last: String(last),
      rows: files.reduce((n, f) => n + f.rows, 0),
      files,
      writer: this.writer,
      createdMs: nowMs,
    };
    const markerTmp = `_tmp/${this.writer}-${partTag(partition)}-${first}.marker`;
    await this.#writeDurably(markerTmp, Buffer.from(`${JSON.stringify(marker)}\n`));
    const final = markerPath(partition, first);
    await mkdir(join(this.#dir, dirname(final)), { recursive: true });
    try {
      await link(join(this.#dir, markerTmp), join(this.#dir, final)); // atomic, exclusive
    } catch (err) {
      await unlink(join(this.#dir, markerTmp)).catch(() => undefined);
      for (const f of files) await unlink(join(this.#dir, f.tmp)).catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    await unlink(join(this.#dir, markerTmp));
    await fsyncDir(join(this.#dir, dirname(final)));
    for (const f of files) await this.#rollForward(f, new Set());
    return true;
  }

  async #rollForward(f: SegmentFile, referenced: Set<string>): Promise<void> {
    referenced.add(f.tmp);
    const final = join(this.#dir, f.path);
    if (await exists(final)) return;
    if (!(await exists(join(this.#dir, f.tmp)))) {
      throw new RiskstreamError(
        ErrorCodes.sinkFailed,
        `bronze file ${f.path} and its temp file are both missing`,
      );
    }
    await mkdir(dirname(final), { recursive: true });
    await rename(join(this.#dir, f.tmp), final);
    await fsyncDir(dirname(final));
  }

  async #writeDurably(rel: string, bytes: Uint8Array): Promise<void> {
    const path = join(this.#dir, rel);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
