/**
 * How one outbox drain's upserts are cut into Cassandra requests. Rows of the same table and
 * partition key go together as one UNLOGGED single-partition batch: Cassandra applies such a
 * batch as one mutation (one commit-log entry, one memtable update), atomically and isolated,
 * which made merchant windows (many rows per merchant and drain in a replay) 3-4x cheaper for
 * the server than one INSERT each. Rows of different partitions are never batched together
 * (that only moves the fan-out to the coordinator and logs a warning).
 *
 * A batch is kept under `maxBytes` of estimated payload (Cassandra warns about each batch above
 * `batch_size_warn_threshold`, 5 KiB by default, and refuses those above 50 KiB) and `maxRows`.
 * Each statement keeps its own deterministic `USING TIMESTAMP`, so a batch writes exactly the
 * cells the single INSERTs would: replays stay idempotent, and order between requests is free.
 */
export interface BoundRow {
  /** Table mapping name (TABLES key). */
  readonly table: string;
  readonly partitionKey: string;
  /** Bound parameters, write timestamp last. */
  readonly params: readonly unknown[];
}

export interface WriteGroupLimits {
  readonly maxBytes: number;
  readonly maxRows: number;
}

export const DEFAULT_LIMITS: WriteGroupLimits = Object.freeze({ maxBytes: 4 * 1024, maxRows: 64 });

/** Rough serialized size of a bound value (strings by UTF-16 length: an estimate, not a bound). */
export function estimateBytes(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string') return value.length + 4;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return 8;
  if (value instanceof Date) return 8;
  if (Array.isArray(value)) {
    let n = 4;
    for (const item of value) n += estimateBytes(item);
    return n;
  }
  if (typeof value === 'object') {
    // A driver Long, or a map written as a plain object.
    if ('high' in value && 'low' in value) return 8;
    let n = 4;
    for (const [k, v] of Object.entries(value)) n += k.length + 4 + estimateBytes(v);
    return n;
  }
  return 8;
}

/**
 * Groups rows into requests: each group is one table and partition key, in drain order, within
 * the limits (a single row above them is a group of its own). Groups of one row are plain
 * INSERTs. Every row appears in exactly one group.
 */
export function groupWrites(rows: readonly BoundRow[], limits: WriteGroupLimits = DEFAULT_LIMITS): BoundRow[][] {
  const open = new Map<string, { rows: BoundRow[]; bytes: number }>();
  const groups: BoundRow[][] = [];
  for (const row of rows) {
    const id = `${row.table}\u0000${row.partitionKey}`;
    const bytes = estimateBytes(row.params);
    let group = open.get(id);
    if (group && (group.bytes + bytes > limits.maxBytes || group.rows.length >= limits.maxRows)) {
      group = undefined;
    }
    if (!group) {
      group = { rows: [], bytes: 0 };
      open.set(id, group);
      groups.push(group.rows);
    }
    group.rows.push(row);
    group.bytes += bytes;
  }
  return groups;
}
