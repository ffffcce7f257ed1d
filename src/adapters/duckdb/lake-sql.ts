import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CURATED_TABLES, type CuratedSnapshot } from '../../batch/ports.ts';
import { CuratedCatalog } from '../file/curated-catalog.ts';
import { hasDatePartitions } from './bronze-reader.ts';
import { DIMENSIONS } from './curated.ts';
import { bronzeSource, LakeQuery, sqlString } from './query.ts';

export interface LakeDirs {
  readonly bronzeDir: string;
  readonly curatedDir: string;
  readonly dimensionsDir: string;
  readonly lineageDir: string;
}

export interface LakeView {
  readonly name: string;
  readonly description: string;
}

const hasFiles = (dir: string, ext: string) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith(ext));

/**
 * History SQL over the lake: a DuckDB session with one view per table, the curated tables read
 * through their current snapshot (a consistent state, never a half-written run). Views exist only
 * for tables that have data; `views` lists what was created.
 */
export class LakeSql {
  readonly query: LakeQuery;
  readonly views: readonly LakeView[];
  readonly snapshot: CuratedSnapshot | null;

  private constructor(query: LakeQuery, views: LakeView[], snapshot: CuratedSnapshot | null) {
    this.query = query;
    this.views = views;
    this.snapshot = snapshot;
  }

  static async open(dirs: LakeDirs): Promise<LakeSql> {
    const snapshot = await new CuratedCatalog(dirs.curatedDir).current();
    const query = await LakeQuery.open();
    const views: LakeView[] = [];
    const view = async (name: string, description: string, sql: string) => {
      await query.rows(`CREATE VIEW ${name} AS ${sql}`);
      views.push({ name, description });
    };
    try {
      if (hasDatePartitions(dirs.bronzeDir)) {
        await view('bronze', 'every valid record as archived from payments.events (duplicates included), with Kafka coordinates', `SELECT * FROM ${bronzeSource(dirs.bronzeDir)}`);
      }
      const invalid = join(dirs.bronzeDir, '_invalid');
      if (hasFiles(invalid, '.parquet')) await view('bronze_invalid', 'records that failed the event contract, with the raw value and error', `SELECT * FROM read_parquet(${sqlString(join(invalid, '*.parquet'))})`);
      for (const table of CURATED_TABLES) {
        const files = snapshot === null ? [] : CuratedCatalog.files(snapshot, table).map((f) => sqlString(resolve(dirs.curatedDir, f)));
        if (files.length === 0) continue;
        await view(
          table,
          CURATED_DESCRIPTIONS[table],
          `SELECT * FROM read_parquet([${files.join(', ')}], hive_partitioning = true, hive_types = {'event_date': DATE})`,
        );
      }
      if (snapshot !== null) {
        const rows = CURATED_TABLES.flatMap((t) =>
          Object.entries(snapshot.tables[t]).map(([d, day]) => `(${sqlString(t)}, DATE ${sqlString(d)}, ${day.rows}, epoch_ms(${day.asOfMs}), epoch_ms(${day.arrivedBeforeMs}))`),
        );
        if (rows.length > 0) {
          await view(
            'curated_days',
            `what curated snapshot ${snapshot.seq} holds: rows per table and event date, and the as-of time and arrival cut each day was built with`,
            `SELECT * FROM (VALUES ${rows.join(', ')}) AS t("table", event_date, "rows", as_of, arrived_before)`,
          );
        }
      }
      for (const name of Object.keys(DIMENSIONS)) {
        const dir = join(dirs.dimensionsDir, name);
        if (hasFiles(dir, '.parquet')) await view(`dim_${name}`, `the ${name.replace('_', ' ')} dimension (every exported row)`, `SELECT * FROM read_parquet(${sqlString(join(dir, '*.parquet'))}, filename = true)`);
      }
      if (hasFiles(dirs.lineageDir, '.jsonl')) {
        await view('lineage', 'OpenLineage run events of the batch jobs', `SELECT * FROM read_json_auto(${sqlString(join(dirs.lineageDir, '*.jsonl'))}, union_by_name = true)`);
      }
    } catch (err) {
      query.close();
      throw err;
    }
    return new LakeSql(query, views, snapshot);
  }

  close(): void {
    this.query.close();
  }
}

const CURATED_DESCRIPTIONS: Readonly<Record<(typeof CURATED_TABLES)[number], string>> = {
  payments: 'valid payments once per event id, with merchant, user and FX dimensions, amount_usd, risk_bucket, cross_border and rolling_amount_usd',
  merchant_daily: 'per event date and merchant: counts and sums in total and per status (the pivot), distinct users',
  merchant_daily_status: 'per event date, merchant and status: cnt and sum_amount (the unpivot, statuses with rows only)',
};
