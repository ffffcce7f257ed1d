import cassandra from 'cassandra-driver';
import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { EffectSink } from '../../runtime/sink.ts';
import { TABLES } from './tables.ts';
import { bigintBytes } from './wire-values.ts';
import { type BoundRow, DEFAULT_LIMITS, groupWrites, type WriteGroupLimits } from './write-groups.ts';

const { Client, types } = cassandra;

export interface CassandraSinkOptions {
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly keyspace: string;
  /** Requests (single INSERTs or batches) in flight at once per drain. */
  readonly concurrency?: number;
  /** Batch limits (see write-groups.ts). */
  readonly batchLimits?: WriteGroupLimits;
}

/**
 * Performs `upsert` effects as prepared INSERTs (Cassandra INSERT is an upsert) with
 * deterministic write timestamps (see tables.ts). Any failure is retriable: the outbox entry
 * stays and the whole drain runs again, which rewrites identical cells.
 */
export class CassandraUpsertSink implements EffectSink {
  readonly #client: cassandra.Client;
  readonly #concurrency: number;
  readonly #keyspace: string;
  readonly #limits: WriteGroupLimits;

  constructor(options: CassandraSinkOptions) {
    this.#client = new Client({
      contactPoints: [...options.contactPoints],
      localDataCenter: options.localDataCenter,
      keyspace: options.keyspace,
      queryOptions: { consistency: types.consistencies.localQuorum, prepare: true },
    });
    this.#concurrency = options.concurrency ?? 64;
    this.#keyspace = options.keyspace;
    this.#limits = options.batchLimits ?? DEFAULT_LIMITS;
  }

  /** The driver, for read paths in the same process (lookup API). */
  get client(): cassandra.Client {
    return this.#client;
  }

  /**
   * Writes every upsert of a drain: rows owned by the same replicas as unlogged batches, a row
   * alone as a single INSERT (see write-groups.ts), at most `concurrency` requests in flight.
   */
  async perform(effects: readonly OutputEffect[]): Promise<void> {
    // Routing needs the token map, which the driver loads on connecting (a no-op once connected).
    if (effects.some((e) => e.type === 'upsert')) await this.#connect();
    const rows: BoundRow[] = [];
    const oneReplicaSet = this.#oneReplicaSet();
    for (const effect of effects) {
      if (effect.type !== 'upsert') continue;
      const table = TABLES[effect.sink];
      if (!table) throw new RiskstreamError(ErrorCodes.sinkFailed, `no Cassandra table for sink "${effect.sink}"`);
      let params: unknown[];
      try {
        params = table.params(effect.row);
        params.push(bigintBytes(table.timestampMicros(effect.row)));
      } catch (err) {
        // A row the mapping cannot encode (e.g. a feature missing from FEATURE_NAMES) is a bug.
        throw new RiskstreamError(ErrorCodes.sinkFailed, `cannot encode a ${effect.sink} row: ${(err as Error).message}`, { cause: err });
      }
      rows.push({ table: effect.sink, route: oneReplicaSet ? '' : this.#route(table.partitionKey(effect.row)), params });
    }
    const groups = groupWrites(rows, this.#limits);
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (!failed && next < groups.length) {
        const group = groups[next++]!;
        try {
          if (group.length === 1) await this.#client.execute(TABLES[group[0]!.table]!.cql, group[0]!.params as unknown[], { prepare: true });
          else await this.#client.batch(group.map((row) => ({ query: TABLES[row.table]!.cql, params: row.params as unknown[] })), { prepare: true, logged: false });
        } catch (err) {
          failed = true; // the whole drain is retried: stop starting requests
          throw err;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.#concurrency, groups.length) }, lane));
    } catch (err) {
      throw new RiskstreamError(ErrorCodes.cassandraUnavailable, `Cassandra upsert failed: ${(err as Error).message}`, { retriable: true, cause: err });
    }
  }

  async #connect(): Promise<void> {
    try {
      await this.#client.connect();
    } catch (err) {
      throw new RiskstreamError(ErrorCodes.cassandraUnavailable, `Cassandra connect failed: ${(err as Error).message}`, { retriable: true, cause: err });
    }
  }

  /**
   * True when every node holds every partition (replication factor ≥ nodes, e.g. the one-node
   * stack): all rows have the same replicas, and hashing each row's key for its route (murmur3
   * in JavaScript, 1.3% of a user worker's CPU) would tell nothing. Checked per drain: nodes
   * may join.
   */
  #oneReplicaSet(): boolean {
    const nodes = this.#client.hosts.length;
    if (nodes <= 1) return true;
    const keyspace = this.#client.metadata.keyspaces[this.#keyspace] as { strategy?: string; strategyOptions?: Record<string, string> } | undefined;
    if (!keyspace?.strategy?.endsWith('SimpleStrategy')) return false;
    return Number(keyspace.strategyOptions?.replication_factor) >= nodes;
  }

  /**
   * The replicas owning a partition (every table's partition key is one text column, whose
   * routing key is its UTF-8 bytes), as a group id; '' when the token map is not known, which
   * only costs locality (the coordinator forwards), never correctness.
   */
  #route(partitionKey: string): string {
    const replicas = this.#client.getReplicas(this.#keyspace, Buffer.from(partitionKey, 'utf8'));
    if (!replicas || replicas.length === 0) return '';
    if (replicas.length === 1) return replicas[0]!.address;
    return replicas.map((h) => h.address).sort().join(',');
  }

  async close(): Promise<void> {
    await this.#client.shutdown();
  }
}
