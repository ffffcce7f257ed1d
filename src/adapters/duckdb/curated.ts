import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CuratedLake, CuratedSnapshot, CurateOutput, CurateRequest, CuratedTable } from '../../batch/ports.ts';
import { STATUSES } from '../../contract/event.ts';
import { CuratedCatalog } from '../file/curated-catalog.ts';
import { bronzeSource, LakeQuery, sqlString } from './query.ts';

export interface CuratedLakePaths {
  readonly bronzeDir: string;
  /** `merchants/`, `users/`, `fx_rates/` subfolders of Parquet files; any may be missing. */
  readonly dimensionsDir: string;
  readonly curatedDir: string;
}

/** Dimension tables: columns (DuckDB types) and key; a later file (by name) replaces a row. */
export const DIMENSIONS = {
  merchants: { key: 'merchant_id', columns: { merchant_id: 'VARCHAR', category: 'VARCHAR', country: 'VARCHAR', currency: 'VARCHAR' } },
  users: { key: 'user_id', columns: { user_id: 'VARCHAR', home_country: 'VARCHAR', registered_devices: 'INTEGER' } },
  fx_rates: { key: 'currency', columns: { currency: 'VARCHAR', usd_per_unit: 'DOUBLE' } },
} as const;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The seed's batch ETL over the bronze layer, in DuckDB: valid events once per event id (first
 * copy by Kafka position, as the stream and the other jobs count them), joined with the merchant,
 * user and FX dimensions, a per-user rolling amount, and the daily merchant × status pivot and
 * its unpivot; written as Parquet partitioned by event date and published through the catalog.
 */
export class DuckDbCuratedLake implements CuratedLake {
  readonly #paths: CuratedLakePaths;
  readonly #catalog: CuratedCatalog;
  readonly #orphanAgeMs: number;

  constructor(paths: CuratedLakePaths, orphanAgeMs = 6 * 3_600_000) {
    this.#paths = paths;
    this.#catalog = new CuratedCatalog(paths.curatedDir);
    this.#orphanAgeMs = orphanAgeMs;
  }

  async bronzeDates(): Promise<string[]> {
    const dir = this.#paths.bronzeDir;
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((n) => n.startsWith('date=') && readdirSync(join(dir, n)).some((f) => f.endsWith('.parquet')))
      .map((n) => n.slice('date='.length))
      .filter((d) => DATE_RE.test(d))
      .sort();
  }

  current(): Promise<CuratedSnapshot | null> {
    return this.#catalog.current();
  }

  publish(snapshot: CuratedSnapshot): Promise<void> {
    return this.#catalog.publish(snapshot);
  }

  /** Null before the first snapshot (no curated layer to judge yet). */
  async payments(range: { fromMs: number; toMs: number }): Promise<Record<string, unknown>[] | null> {
    const snapshot = await this.#catalog.current();
    if (snapshot === null) return null;
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const files = Object.entries(snapshot.tables.payments)
      .filter(([d]) => d >= day(range.fromMs) && d <= day(range.toMs))
      .flatMap(([, d]) => d.files.map((f) => sqlString(join(this.#paths.curatedDir, f))));
    if (files.length === 0) return [];
    const lake = await LakeQuery.open();
    try {
      const rows = await lake.rows(`
        SELECT event_id, ts_ms, merchant_category, user_home_country, amount_usd, rolling_amount_usd, risk_bucket
        FROM read_parquet([${files.join(', ')}])
        WHERE ts_ms >= ${Math.trunc(range.fromMs)} AND ts_ms < ${Math.trunc(range.toMs)}`);
      return rows.map((r) => ({ ...r, ts_ms: Number(r.ts_ms) }));
    } finally {
      lake.close();
    }
  }

  collect(keep: number, nowMs: number): Promise<number> {
    return this.#catalog.collect(keep, nowMs, this.#orphanAgeMs);
  }

  async build(req: CurateRequest): Promise<CurateOutput> {
    const empty: CurateOutput = {
      tables: { payments: {}, merchant_daily: {}, merchant_daily_status: {} },
      eventsRead: 0,
      dimensions: { merchants: 0, users: 0, fx_rates: 0 },
      unmatched: { merchants: 0, users: 0, currencies: 0 } };
    for (const d of req.dates) if (!DATE_RE.test(d)) throw new Error(`curate: bad date "${d}"`);
    if (!/^[\w.-]+$/.test(req.runId)) throw new Error(`curate: bad run id "${req.runId}"`);
    if (req.dates.length === 0 || (await this.bronzeDates()).length === 0) return empty;
    const lake = await LakeQuery.open();
    try {
      for (const [name, dim] of Object.entries(DIMENSIONS)) await lake.rows(this.#dimensionTable(name, dim));
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const dates = [...req.dates].sort();
      const lastDay = dates.at(-1)!;
      await lake.rows(`
        CREATE TEMP TABLE events AS
        SELECT event_id, ts_ms, user_id, merchant_id, amount, currency, country, device_id, status,
               kafka_partition, kafka_offset, kafka_timestamp_ms
        FROM ${bronzeSource(this.#paths.bronzeDir)}
        WHERE date >= '${day(req.contextFromMs)}' AND date <= '${lastDay}'
          AND ts_ms >= ${Math.trunc(req.contextFromMs)} AND ts_ms < ${Math.trunc(req.toMs)}
          AND kafka_timestamp_ms < ${Math.trunc(req.arrivedBeforeMs)}
        QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY kafka_timestamp_ms, kafka_partition, kafka_offset) = 1`);
      const inDates = `event_date IN (${dates.map((d) => `DATE '${d}'`).join(', ')})`;
      // risk_bucket is the seed's UDF, on US dollars; the rolling amount is the seed's window of
      // the user's payment and the 10 before it, in event-time order (event id breaks ties).
      await lake.rows(`
        CREATE TEMP TABLE payments AS
        SELECT * FROM (
          SELECT e.event_id, e.ts_ms, epoch_ms(e.ts_ms) AS event_time, CAST(epoch_ms(e.ts_ms) AS DATE) AS event_date,
                 e.user_id, e.merchant_id, e.amount, e.currency, e.country, e.device_id, e.status,
                 e.amount * fx.usd_per_unit AS amount_usd,
                 CASE WHEN e.status = 'failed' AND e.amount * fx.usd_per_unit >= 100 THEN 'risk_high'
                      WHEN e.status = 'failed' THEN 'risk_med' ELSE 'risk_low' END AS risk_bucket,
                 m.category AS merchant_category, m.country AS merchant_country,
                 u.home_country AS user_home_country,
                 CASE WHEN e.country IS NULL OR u.home_country IS NULL THEN NULL ELSE e.country <> u.home_country END AS cross_border,
                 sum(e.amount * fx.usd_per_unit) OVER (PARTITION BY e.user_id ORDER BY e.ts_ms, e.event_id ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS rolling_amount_usd,
                 e.kafka_partition, e.kafka_offset, e.kafka_timestamp_ms,
                 m.merchant_id IS NULL AS no_merchant, u.user_id IS NULL AS no_user, fx.currency IS NULL AS no_fx
          FROM events e
          LEFT JOIN dim_merchants m ON m.merchant_id = e.merchant_id
          LEFT JOIN dim_users u ON u.user_id = e.user_id
          LEFT JOIN dim_fx_rates fx ON fx.currency = e.currency)
        WHERE ${inDates}`);
      const amount = 'CAST(amount AS DECIMAL(18,4))';
      const perStatus = STATUSES.map(
        (s) => `count(*) FILTER (WHERE status = '${s}') AS ${s}_cnt, coalesce(sum(${amount}) FILTER (WHERE status = '${s}'), 0) AS ${s}_sum_amount`,
      ).join(',\n               ');
      await lake.rows(`
        CREATE TEMP TABLE merchant_daily AS
        SELECT event_date, merchant_id, count(*) AS cnt, sum(${amount}) AS sum_amount, sum(amount_usd) AS sum_amount_usd,
               count(DISTINCT user_id) AS distinct_users,
               ${perStatus}
        FROM payments GROUP BY event_date, merchant_id`);
      const pairs = STATUSES.map((s) => `(${s}_cnt, ${s}_sum_amount) AS ${s}`).join(', ');
      await lake.rows(`
        CREATE TEMP TABLE merchant_daily_status AS
        SELECT event_date, merchant_id, status, cnt, sum_amount
        FROM (UNPIVOT (SELECT event_date, merchant_id, ${STATUSES.map((s) => `${s}_cnt, ${s}_sum_amount`).join(', ')} FROM merchant_daily)
              ON ${pairs} INTO NAME status VALUE cnt, sum_amount)
        WHERE cnt > 0`);
      const tables: Record<CuratedTable, Record<string, { files: string[]; rows: number }>> = { payments: {}, merchant_daily: {}, merchant_daily_status: {} };
      for (const table of Object.keys(tables) as CuratedTable[]) {
        const select = table === 'payments' ? 'SELECT * EXCLUDE (no_merchant, no_user, no_fx) FROM payments' : `SELECT * FROM ${table}`;
        const target = join(this.#paths.curatedDir, table);
        await mkdir(target, { recursive: true });
        await lake.rows(
          `COPY (${select} ORDER BY ALL) TO ${sqlString(target)} (FORMAT PARQUET, PARTITION_BY (event_date), OVERWRITE_OR_IGNORE true, FILENAME_PATTERN ${sqlString(`${req.runId}_{i}`)})`,
        );
        for (const r of await lake.rows(`SELECT strftime(event_date, '%Y-%m-%d') AS d, count(*) AS n FROM ${table} GROUP BY ALL`)) {
          const d = String(r.d);
          const dir = join(target, `event_date=${d}`);
          const files = readdirSync(dir)
            .filter((f) => f.startsWith(`${req.runId}_`) && f.endsWith('.parquet'))
            .sort()
            .map((f) => `${table}/event_date=${d}/${f}`);
          tables[table][d] = { files, rows: Number(r.n) };
        }
      }
      const [counts] = await lake.rows(`
        SELECT (SELECT count(*) FROM events) AS events_read,
               count(*) FILTER (WHERE no_merchant) AS merchants, count(*) FILTER (WHERE no_user) AS users,
               count(*) FILTER (WHERE no_fx) AS currencies,
               (SELECT count(*) FROM dim_merchants) AS dim_merchants, (SELECT count(*) FROM dim_users) AS dim_users,
               (SELECT count(*) FROM dim_fx_rates) AS dim_fx_rates
        FROM payments`);
      return {
        tables,
        eventsRead: Number(counts?.events_read ?? 0),
        dimensions: { merchants: Number(counts?.dim_merchants ?? 0), users: Number(counts?.dim_users ?? 0), fx_rates: Number(counts?.dim_fx_rates ?? 0) },
        unmatched: { merchants: Number(counts?.merchants ?? 0), users: Number(counts?.users ?? 0), currencies: Number(counts?.currencies ?? 0) },
      };
    } finally {
      lake.close();
    }
  }

  #dimensionTable(name: string, dim: { key: string; columns: Readonly<Record<string, string>> }): string {
    const cols = Object.entries(dim.columns);
    const dir = join(this.#paths.dimensionsDir, name);
    const hasFiles = existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.parquet'));
    if (!hasFiles) return `CREATE TEMP TABLE dim_${name} (${cols.map(([c, t]) => `${c} ${t}`).join(', ')})`;
    return `
      CREATE TEMP TABLE dim_${name} AS
      SELECT ${cols.map(([c, t]) => `CAST(${c} AS ${t}) AS ${c}`).join(', ')}
      FROM read_parquet(${sqlString(join(dir, '*.parquet'))}, filename = true)
      QUALIFY row_number() OVER (PARTITION BY ${dim.key} ORDER BY filename DESC) = 1`;
  }
}
