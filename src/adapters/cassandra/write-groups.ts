/**
 * How one outbox drain's upserts are cut into Cassandra requests: UNLOGGED batches of rows whose
 * partitions live on the same replicas (the `route`, from the driver's token map), whatever
 * their table or partition.
 *
 * Why: a small write's cost is mostly per request (frame decoding, dispatch, response, socket
 * flush, thread hand-offs on both sides), paid once per batch instead of once per row. On the
 * 2-core box (bench:cassandra, replay mix) Cassandra's CPU per row went from 32 to 25 µs and the
 * driver's CPU per event from 93 to 56 µs against one INSERT per row outside merchant batches.
 * Grouping by replica set keeps what a multi-partition batch usually gets wrong from happening:
 * the driver sends a batch to a replica of its first row (token-aware), and every other row of
 * the batch has the same replicas, so the coordinator writes each mutation locally and to the
 * same peers as single INSERTs would, and fans out to nobody else. Rows of one partition inside
 * a batch become one mutation (one commit-log entry, one memtable update).
 *
 * UNLOGGED: no batch log (its cost is what a logged batch buys: all-or-nothing across
 * partitions). It is not needed: every statement keeps its own deterministic `USING TIMESTAMP`,
 * so a batch writes exactly the cells the single INSERTs would, and a failed drain is retried
 * whole, rewriting identical cells. Order between requests does not matter.
 *
 * Limits: `maxBytes` of estimated payload and `maxRows` per batch. Cassandra warns about each
 * batch above `batch_size_warn_threshold` (scripts/stack/cassandra.sh sets 64 KiB; 5 KiB by
 * default) and refuses those above `batch_size_fail_threshold` (640 KiB there, 50 KiB by
 * default): the 32 KiB default stays under the stock refusal limit with a wide margin for the
 * estimate, so a cluster with stock settings only logs warnings. It also warns when an unlogged
 * batch spans more than `unlogged_batch_across_partitions_warn_threshold` partitions (the stack
 * sets it above `maxRows`).
 */
export interface BoundRow {
  /** Table mapping name (TABLES key). */
  readonly table: string;
  /** Which replicas own the row's partition (rows of one route may share a batch). */
  readonly route: string;
  /** Bound parameters, write timestamp last. */
  readonly params: readonly unknown[];
}

export interface WriteGroupLimits {
  readonly maxBytes: number;
  readonly maxRows: number;
}

export const DEFAULT_LIMITS: WriteGroupLimits = Object.freeze({ maxBytes: 32 * 1024, maxRows: 100 });

/** Rough serialized size of a bound value (strings by UTF-16 length: an estimate, not a bound). */
export function estimateBytes(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string') return value.length + 4;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return 8;
  if (value instanceof Date) return 8;
  // Before the generic object case: Object.entries over a Buffer (the features vector) walked
  // every byte, 6% of a user worker's CPU in the profile of a replay.
  if (value instanceof Uint8Array) return value.byteLength + 4;
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
 * Groups rows into requests: each group is one route, in drain order, within the limits (a
 * single row above them is a group of its own). Groups of one row are plain INSERTs. Every row
 * appears in exactly one group.
 */
export function groupWrites(rows: readonly BoundRow[], limits: WriteGroupLimits = DEFAULT_LIMITS): BoundRow[][] {
  const open = new Map<string, { rows: BoundRow[]; bytes: number }>();
  const groups: BoundRow[][] = [];
  for (const row of rows) {
    const bytes = estimateBytes(row.params);
    let group = open.get(row.route);
    if (group && (group.bytes + bytes > limits.maxBytes || group.rows.length >= limits.maxRows)) {
      group = undefined;
    }
    if (!group) {
      group = { rows: [], bytes: 0 };
      open.set(row.route, group);
      groups.push(group.rows);
    }
    group.rows.push(row);
    group.bytes += bytes;
  }
  return groups;
}
