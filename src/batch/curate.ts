/**
 * Batch job: the curated layer (PRODUCT §5b). Rebuilds whole event dates of the curated tables
 * from the bronze layer and publishes them as one new snapshot; days it does not rebuild keep
 * their files. A run rebuilds the dates from `rebuildDays` before its as-of time through its
 * as-of date (late events land in recent days) and every bronze date the snapshot does not hold
 * yet (the first run: all of them); an on-demand run with `--param from=YYYY-MM-DD` everything
 * from there (a backfill).
 *
 * Idempotent by as-of time: the run id is derived from it, and a retry after its snapshot was
 * published returns that snapshot's numbers instead of publishing again.
 */
import { ErrorCodes, RiskstreamError } from '../runtime/errors.ts';
import { CURATED_TABLES, type CuratedLake, type CuratedSnapshot, type CuratedTable, type JobContext, type ReportStore } from './ports.ts';

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface CurateInput {
  readonly rebuildDays: number;
  /** Days of events read before the first rebuilt date, for per-user windows. */
  readonly contextDays: number;
  readonly keepSnapshots: number;
  readonly settleMs: number;
}

export interface CuratePorts {
  readonly curated: CuratedLake;
  readonly reports: ReportStore;
  readonly now: () => number;
}

export interface CurateReport {
  readonly asOfMs: number;
  readonly runId: string;
  readonly snapshot: number | null;
  readonly dates: readonly string[];
  readonly rows: Readonly<Record<CuratedTable, number>>;
  readonly eventsRead: number;
  readonly dimensions: Readonly<Record<'merchants' | 'users' | 'fx_rates', number>>;
  readonly unmatched: { readonly merchants: number; readonly users: number; readonly currencies: number };
  readonly filesDeleted: number;
}

export async function runCurate(ports: CuratePorts, input: CurateInput, ctx: JobContext): Promise<CurateReport> {
  const asOf = ctx.asOfMs;
  const runId = `curate-${new Date(asOf).toISOString().replace(/[-:.]/g, '')}`;
  const current = await ports.curated.current();
  if (current?.runId === runId) return reportOf(current);
  const bronzeDates = await ports.curated.bronzeDates();
  const recent = fromDate(ctx.params?.from, day(asOf - input.rebuildDays * DAY_MS));
  const last = day(asOf - 1);
  // Recent dates (late events land there), and any date the snapshot does not have yet: the
  // first run's whole lake, or old dates a backfill of bronze added since.
  const curated = current?.tables.payments ?? {};
  const dates = bronzeDates.filter((d) => d <= last && (d >= recent || !(d in curated)));
  const from = dates[0] ?? recent;
  const arrivedBeforeMs = asOf - input.settleMs;
  await ctx.log(`rebuilding ${dates.length} event date(s) ${dates[0] ?? '-'}..${dates.at(-1) ?? '-'}`);
  const out = await ports.curated.build({
    runId,
    dates,
    contextFromMs: Date.parse(`${from}T00:00:00Z`) - input.contextDays * DAY_MS,
    toMs: asOf,
    arrivedBeforeMs,
  });
  await ctx.progress(80);
  const tables = {} as Record<CuratedTable, Record<string, CuratedSnapshot['tables'][CuratedTable][string]>>;
  for (const table of CURATED_TABLES) {
    const next = { ...(current?.tables[table] ?? {}) };
    for (const d of dates) {
      const built = out.tables[table][d];
      if (built) next[d] = { ...built, asOfMs: asOf, arrivedBeforeMs };
      else delete next[d];
    }
    tables[table] = next;
  }
  const snapshot: CuratedSnapshot = { version: 1, seq: (current?.seq ?? 0) + 1, runId, asOfMs: asOf, createdMs: ports.now(), tables };
  await ports.curated.publish(snapshot);
  const filesDeleted = await ports.curated.collect(input.keepSnapshots, ports.now());
  const report: CurateReport = {
    asOfMs: asOf,
    runId,
    snapshot: snapshot.seq,
    dates,
    rows: rowsOf(out.tables, dates),
    eventsRead: out.eventsRead,
    dimensions: out.dimensions,
    unmatched: out.unmatched,
    filesDeleted,
  };
  await ports.reports.put('curate', report);
  await ctx.progress(100);
  return report;
}

function fromDate(param: string | undefined, fallback: string): string {
  if (param === undefined) return fallback;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(param) || Number.isNaN(Date.parse(`${param}T00:00:00Z`))) {
    throw new RiskstreamError(ErrorCodes.configInvalid, `curate: --param from must be a date YYYY-MM-DD, got "${param}"`);
  }
  return param;
}

/** A retry of a published run: the snapshot's rows of the dates that run wrote. */
function reportOf(snapshot: CuratedSnapshot): CurateReport {
  const dates = [...new Set(CURATED_TABLES.flatMap((t) => Object.entries(snapshot.tables[t]).filter(([, d]) => d.asOfMs === snapshot.asOfMs).map(([d]) => d)))].sort();
  return {
    asOfMs: snapshot.asOfMs,
    runId: snapshot.runId,
    snapshot: snapshot.seq,
    dates,
    rows: rowsOf(snapshot.tables, dates),
    eventsRead: 0,
    dimensions: { merchants: 0, users: 0, fx_rates: 0 },
    unmatched: { merchants: 0, users: 0, currencies: 0 },
    filesDeleted: 0,
  };
}

/** Rows per table over `dates`. */
function rowsOf(tables: Readonly<Record<CuratedTable, Readonly<Record<string, { rows: number }>>>>, dates: readonly string[]): Record<CuratedTable, number> {
  return Object.fromEntries(CURATED_TABLES.map((t) => [t, dates.reduce((n, d) => n + (tables[t][d]?.rows ?? 0), 0)])) as Record<CuratedTable, number>;
}
