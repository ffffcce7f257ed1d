/**
 * History SQL over the lake (PRODUCT §5b), with DuckDB:
 *
 *   npm run sql -- "SELECT status, count(*) FROM payments GROUP BY ALL"
 *   npm run sql -- --file report.sql [--format table|csv|json] [--max-rows 1000]
 *   npm run sql -- --tables            the views, what they hold, their columns and row counts
 *
 * Views: bronze, bronze_invalid, payments, merchant_daily, merchant_daily_status, curated_days,
 * dim_merchants, dim_users, dim_fx_rates, lineage (those with data). The curated views read the
 * current snapshot of the curated layer (`npm run batch -- --run curate` builds it). Directories
 * from the config: RISKSTREAM_BRONZE_DIR, RISKSTREAM_BATCH_CURATED_DIR,
 * RISKSTREAM_BATCH_DIMENSIONS_DIR, RISKSTREAM_BATCH_LINEAGE_DIR. Exit 0 done, 2 bad query or usage.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LakeSql } from '../adapters/duckdb/lake-sql.ts';
import { loadConfig } from '../runtime/config.ts';
import { formatRows, type OutputFormat } from './sql-format.ts';

function fail(code: string, message: string): never {
  process.stderr.write(`${code}: ${message}\n`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      format: { type: 'string', default: 'table' },
      'max-rows': { type: 'string', default: '1000' },
      tables: { type: 'boolean', default: false },
    },
  });
}
try {
  parsed = parse();
} catch (err) {
  fail('USAGE', (err as Error).message);
}
const { values, positionals } = parsed;
const format = values.format as OutputFormat;
if (!['table', 'csv', 'json'].includes(format)) fail('USAGE', `--format must be table, csv or json, got "${values.format}"`);
const maxRows = Number(values['max-rows']);
if (!Number.isInteger(maxRows) || maxRows < 1) fail('USAGE', `--max-rows must be a positive integer, got "${values['max-rows']}"`);
let sql = positionals.join(' ').trim();
if (values.file !== undefined) {
  try {
    sql = readFileSync(values.file, 'utf8');
  } catch (err) {
    fail('USAGE', `--file: ${(err as Error).message}`);
  }
}
if (sql === '' && !values.tables) fail('USAGE', 'give a query, --file <path> or --tables');

const config = loadConfig(process.env);
const lake = await LakeSql.open({
  bronzeDir: config.bronze.dir,
  curatedDir: config.batch.curatedDir,
  dimensionsDir: config.batch.dimensionsDir,
  lineageDir: config.batch.lineageDir,
});
try {
  if (values.tables) {
    const out = [];
    for (const v of lake.views) {
      const [count] = await lake.query.rows(`SELECT count(*) AS n FROM ${v.name}`);
      const columns = await lake.query.rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${v.name}' ORDER BY ordinal_position`);
      out.push({ view: v.name, rows: Number(count?.n ?? 0), holds: v.description, columns: columns.map((c) => `${c.column_name} ${c.data_type}`).join(', ') });
    }
    if (out.length === 0) process.stderr.write('the lake has no data yet (no bronze files, no curated snapshot, no dimensions)\n');
    process.stdout.write(formatRows(out, format === 'table' ? 'json' : format, Number.POSITIVE_INFINITY));
  } else {
    let rows: Record<string, unknown>[];
    try {
      rows = await lake.query.rows(sql);
    } catch (err) {
      const known = lake.views.map((v) => v.name).join(', ') || 'none';
      fail('SQL_FAILED', `${(err as Error).message.split('\n')[0]} (views: ${known})`);
    }
    process.stdout.write(formatRows(rows, format, maxRows));
    if (rows.length > maxRows) process.stderr.write(`${rows.length - maxRows} more row(s) not shown (--max-rows)\n`);
  }
} finally {
  lake.close();
}
