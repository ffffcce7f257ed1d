import cassandra from 'cassandra-driver';
import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { EffectSink } from '../../runtime/sink.ts';
import { TABLES } from './tables.ts';

const { Client, types, concurrent } = cassandra;

export interface CassandraSinkOptions {
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly keyspace: string;
  /** Statements in flight at once per drain. */
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

  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const byTable = new Map<string, unknown[][]>();
    for (const effect of effects) {
      if (effect.type !== 'upsert') continue;
      const table = TABLES[effect.sink];
      if (!table) throw new RiskstreamError(ErrorCodes.sinkFailed, `no Cassandra table for sink "${effect.sink}"`);
      let list = byTable.get(effect.sink);
      if (!list) {
        list = [];
        byTable.set(effect.sink, list);
      }
      list.push([...table.params(effect.row), types.Long.fromNumber(table.timestampMicros(effect.row))]);
    }
    try {
      for (const [name, params] of byTable) {
        await concurrent.executeConcurrent(this.#client, TABLES[name]!.cql, params, { concurrencyLevel: this.#concurrency });
      }
    } catch (err) {
      throw new RiskstreamError(ErrorCodes.cassandraUnavailable, `Cassandra upsert failed: ${(err as Error).message}`, { retriable: true, cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#client.shutdown();
  }
}
