import cassandra from 'cassandra-driver';
import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { EffectSink } from '../../runtime/sink.ts';
import { TABLES } from './tables.ts';
import { type BoundRow, groupWrites } from './write-groups.ts';

const { Client, types } = cassandra;

export interface CassandraSinkOptions {
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly keyspace: string;
  /** Requests (single INSERTs or single-partition batches) in flight at once per drain. */
  readonly concurrency?: number;
}

/**
 * Performs `upsert` effects as prepared INSERTs (Cassandra INSERT is an upsert) with
 * deterministic write timestamps (see tables.ts). Any failure is retriable: the outbox entry
 * stays and the whole drain runs again, which rewrites identical cells.
 */
export class CassandraUpsertSink implements EffectSink {
  readonly #client: cassandra.Client;
  readonly #concurrency: number;

  constructor(options: CassandraSinkOptions) {
    this.#client = new Client({
      contactPoints: [...options.contactPoints],
      localDataCenter: options.localDataCenter,
      keyspace: options.keyspace,
      queryOptions: { consistency: types.consistencies.localQuorum, prepare: true },
    });
    this.#concurrency = options.concurrency ?? 64;
  }

  /** The driver, for read paths in the same process (lookup API). */
  get client(): cassandra.Client {
    return this.#client;
  }

  /**
   * Writes every upsert of a drain: rows of one table and partition key as one unlogged
   * single-partition batch, the others as single INSERTs (see write-groups.ts), all tables at
   * once with at most `concurrency` requests in flight.
   */
  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const rows: BoundRow[] = [];
    for (const effect of effects) {
      if (effect.type !== 'upsert') continue;
      const table = TABLES[effect.sink];
      if (!table) throw new RiskstreamError(ErrorCodes.sinkFailed, `no Cassandra table for sink "${effect.sink}"`);
      const params = [...table.params(effect.row), types.Long.fromNumber(table.timestampMicros(effect.row))];
      rows.push({ table: effect.sink, partitionKey: table.partitionKey(effect.row), params });
    }
    const groups = groupWrites(rows);
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (!failed && next < groups.length) {
        const group = groups[next++]!;
        const cql = TABLES[group[0]!.table]!.cql;
        try {
          if (group.length === 1) await this.#client.execute(cql, group[0]!.params as unknown[], { prepare: true });
          else await this.#client.batch(group.map((row) => ({ query: cql, params: row.params as unknown[] })), { prepare: true, logged: false });
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

  async close(): Promise<void> {
    await this.#client.shutdown();
  }
}
