import { existsSync, readdirSync } from 'node:fs';
import type { BronzeEvent, BronzeRange, LakeReader } from '../../batch/ports.ts';
import { bronzeSource, LakeQuery } from './query.ts';

/**
 * The batch jobs' view of the bronze layer, through DuckDB over the committed Parquet files.
 * Events are the valid rows of the event-date partitions in the range, once per event id (the
 * first accepted copy by Kafka position: a client's retry of the same event is one payment), in
 * arrival order (Kafka timestamp, then partition and offset), which is the order the stream saw.
 */
export class BronzeLakeReader implements LakeReader {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async events(range: BronzeRange): Promise<BronzeEvent[]> {
    const rows = await this.#query(`
      SELECT event_id, ts_ms, user_id, merchant_id, amount, currency, country, device_id, status
      FROM ${bronzeSource(this.#dir)}
      WHERE ${where(range)}
      QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY kafka_timestamp_ms, kafka_partition, kafka_offset) = 1
      ORDER BY kafka_timestamp_ms, kafka_partition, kafka_offset`);
    // Optional fields the event did not carry are NULL in Parquet: absent here, as in the contract.
    const optional = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
    return rows.map((r) => ({
      event_id: String(r.event_id),
      ts_ms: Number(r.ts_ms),
      user_id: String(r.user_id),
      merchant_id: String(r.merchant_id),
      amount: Number(r.amount),
      currency: String(r.currency),
      country: optional(r.country),
      device_id: optional(r.device_id),
      status: String(r.status) as BronzeEvent['status'],
    }));
  }

  async rows(range: BronzeRange): Promise<Record<string, unknown>[]> {
    const rows = await this.#query(`
      SELECT event_id, ts_ms, user_id, merchant_id, amount, currency, country, device_id, status
      FROM ${bronzeSource(this.#dir)}
      WHERE ${where(range)}
      ORDER BY kafka_partition, kafka_offset`);
    return rows.map((r) => ({ ...r, ts_ms: r.ts_ms === null ? null : Number(r.ts_ms), amount: r.amount === null ? null : Number(r.amount) }));
  }

  async #query(sql: string): Promise<Record<string, unknown>[]> {
    // read_parquet fails on a glob that matches nothing: an empty lake is no rows, not an error.
    if (!hasDatePartitions(this.#dir)) return [];
    const lake = await LakeQuery.open();
    try {
      return await lake.rows(sql);
    } finally {
      lake.close();
    }
  }
}

function where(range: BronzeRange): string {
  const from = Math.trunc(range.fromMs);
  const to = Math.trunc(range.toMs);
  // The date partition bounds prune files; ts_ms decides.
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const arrived = range.arrivedBeforeMs === undefined ? '' : ` AND kafka_timestamp_ms < ${Math.trunc(range.arrivedBeforeMs)}`;
  return `date >= '${day(from)}' AND date <= '${day(to)}' AND ts_ms >= ${from} AND ts_ms < ${to}${arrived}`;
}

/** Whether the bronze directory holds any event-date partition (read_parquet fails on an empty glob). */
export function hasDatePartitions(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((name) => name.startsWith('date='));
}
