import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CURATED_TABLES, type CuratedSnapshot, type CuratedTable } from '../../batch/ports.ts';

/**
 * The curated layer's table format: Parquet files plus numbered snapshot manifests.
 *
 *   <root>/<table>/event_date=<D>/<runId>_<i>.parquet     data files of one curate run
 *   <root>/_catalog/snap-<seq, 10 digits>.json             a snapshot: for every table and day,
 *                                                          the files that make it up
 *
 * The newest snapshot is the current table state. A run writes its files first, then publishes a
 * snapshot by creating the next number exclusively (link(2) of a complete temp file): readers
 * never see half a run, and of two concurrent runs the second fails (EEXIST) instead of silently
 * dropping the first one's days. Files that no kept snapshot lists are deleted after `keep`
 * newer snapshots, so a query that started on an older snapshot still finds its files. Reading
 * the data files by a glob instead of through a snapshot sees every run's copy of a day.
 */
const CATALOG = '_catalog';
const snapName = (seq: number) => `snap-${String(seq).padStart(10, '0')}.json`;
const SNAP_RE = /^snap-(\d{10})\.json$/;

export class CuratedCatalog {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  get root(): string {
    return this.#root;
  }

  async current(): Promise<CuratedSnapshot | null> {
    const seqs = await this.#seqs();
    const last = seqs.at(-1);
    return last === undefined ? null : this.read(last);
  }

  async read(seq: number): Promise<CuratedSnapshot> {
    return JSON.parse(await readFile(join(this.#root, CATALOG, snapName(seq)), 'utf8')) as CuratedSnapshot;
  }

  /** Publishes `snapshot` as number `snapshot.seq`; throws CURATED_CONFLICT if that number exists. */
  async publish(snapshot: CuratedSnapshot): Promise<void> {
    const dir = join(this.#root, CATALOG);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${snapshot.runId}.json`);
    await writeFile(tmp, JSON.stringify(snapshot));
    try {
      await link(tmp, join(dir, snapName(snapshot.seq)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw Object.assign(new Error(`curated snapshot ${snapshot.seq} was published by another run; run ${snapshot.runId} is dropped`), {
          code: 'CURATED_CONFLICT',
        });
      }
      throw err;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  /**
   * Keeps the newest `keep` snapshots and the files they list; deletes older snapshots, and data
   * files no kept snapshot lists once they are older than `orphanAgeMs`: a run still writing has
   * files no snapshot lists yet, so only age tells them from a failed run's leftovers. Returns
   * the number of data files deleted.
   */
  async collect(keep: number, nowMs: number, orphanAgeMs: number): Promise<number> {
    const seqs = await this.#seqs();
    const kept = seqs.slice(-keep);
    const live = new Set<string>();
    for (const seq of kept) {
      const snap = await this.read(seq);
      for (const table of CURATED_TABLES) for (const day of Object.values(snap.tables[table] ?? {})) for (const f of day.files) live.add(f);
    }
    for (const seq of seqs.slice(0, -keep)) await rm(join(this.#root, CATALOG, snapName(seq)), { force: true });
    let deleted = 0;
    for (const table of CURATED_TABLES) {
      const tableDir = join(this.#root, table);
      if (!existsSync(tableDir)) continue;
      for (const day of await readdir(tableDir)) {
        for (const file of await readdir(join(tableDir, day))) {
          const rel = `${table}/${day}/${file}`;
          if (live.has(rel)) continue;
          const info = await stat(join(this.#root, rel));
          if (nowMs - info.mtimeMs < orphanAgeMs) continue;
          await rm(join(this.#root, rel), { force: true });
          deleted += 1;
        }
      }
    }
    return deleted;
  }

  /** Relative paths of the data files a snapshot lists for a table, every day. */
  static files(snapshot: CuratedSnapshot, table: CuratedTable): string[] {
    return Object.keys(snapshot.tables[table] ?? {})
      .sort()
      .flatMap((day) => snapshot.tables[table][day]!.files);
  }

  async #seqs(): Promise<number[]> {
    const dir = join(this.#root, CATALOG);
    if (!existsSync(dir)) return [];
    return (await readdir(dir))
      .map((name) => SNAP_RE.exec(name)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }
}
