/**
 * Bronze layout (spec). Root `dir`:
 *
 *   date=YYYY-MM-DD/p<PP>-<first>-<last>.parquet   committed rows of Kafka partition PP,
 *                                                  offsets first..last (20-digit, zero-padded),
 *                                                  whose event date (UTC of ts_ms) is that day
 *   _invalid/p<PP>-<first>-<last>.parquet           records that failed the event contract
 *   _segments/p=<PP>/<first>.json                   commit marker of segment first..last
 *   _tmp/<writer>-p<PP>-<first>-<last>-<bucket>.parquet   written, not yet committed
 *
 * A segment is committed when its marker exists. Markers are created exclusively (link(2) of a
 * complete temp file: EEXIST means another writer committed that first offset) and form a
 * chain per partition: marker.first = previous marker.last + 1. The chain's end + 1 is where
 * archiving resumes. Data files become visible (renamed from _tmp) only after their marker
 * exists, so a reader globbing `date=*` never sees uncommitted rows; a crash between marker
 * and rename is rolled forward on restart, and temp files without a marker are deleted.
 */
export interface SegmentFile {
  /** `YYYY-MM-DD` or `_invalid`. */
  readonly bucket: string;
  readonly rows: number;
  /** Path of the committed file, relative to the bronze root. */
  readonly path: string;
  /** Path of the temp file it is renamed from, relative to the bronze root. */
  readonly tmp: string;
}

export interface SegmentMarker {
  readonly version: 1;
  readonly topic: string;
  readonly partition: number;
  readonly first: string;
  readonly last: string;
  readonly rows: number;
  readonly files: readonly SegmentFile[];
  readonly writer: string;
  readonly createdMs: number;
}

export const INVALID_BUCKET = '_invalid';

export const pad = (offset: bigint | string): string => String(offset).padStart(20, '0');
export const partTag = (partition: number): string => `p${String(partition).padStart(2, '0')}`;

/** UTC date of an event time, `YYYY-MM-DD`. */
export function eventDate(tsMs: number): string {
  return new Date(tsMs).toISOString().slice(0, 10);
}

export function dataPath(bucket: string, partition: number, first: bigint, last: bigint): string {
  const name = `${partTag(partition)}-${pad(first)}-${pad(last)}.parquet`;
  return bucket === INVALID_BUCKET ? `${INVALID_BUCKET}/${name}` : `date=${bucket}/${name}`;
}

export function tmpPath(
  writer: string,
  bucket: string,
  partition: number,
  first: bigint,
  last: bigint,
): string {
  return `_tmp/${writer}-${partTag(partition)}-${pad(first)}-${pad(last)}-${bucket}.parquet`;
}

export function markerDir(partition: number): string {
  return `_segments/p=${String(partition).padStart(2, '0')}`;
}

export function markerPath(partition: number, first: bigint): string {
  return `${markerDir(partition)}/${pad(first)}.json`;
}
