import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createIngestMetrics } from '../../../src/api/ingest/metrics.ts';
import { createBatchMetrics } from '../../../src/batch/metrics.ts';
import { createRegistry } from '../../../src/runtime/metrics.ts';
import { createRuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import {
  allPanels,
  type Dashboard,
  GRAFANA_DIR,
  INTERVAL_VARIABLES,
  loadDashboards,
  panelQueries,
  substituteVariables,
  variablesIn,
} from '../../support/grafana.ts';

/**
 * deploy/grafana, checked without Grafana: the dashboards parse and lay out, every panel queries
 * the templated Prometheus data source, and every metric and label a query names is one the code
 * registers (test/integration/prometheus.test.ts has Prometheus parse every query).
 */
const dashboards = loadDashboards();
const ROOT = new URL('../../../', import.meta.url).pathname;

interface MetricInfo {
  readonly type: string;
  readonly labels: ReadonlySet<string>;
}

/**
 * The metrics the processes register. Built by calling the same factories the entry points call
 * on a fresh registry from `createRegistry`, so names, types, label names, prom-client's default
 * metrics (under our prefix) and the registry's default labels are what a process exposes, with
 * no hand-kept copy to drift. The archiver creates its two metrics at the top level of its entry
 * point, which cannot be imported without starting the process, so those are read from its
 * source text.
 */
async function registeredMetrics(): Promise<Map<string, MetricInfo>> {
  const registry = createRegistry('unit');
  createRuntimeMetrics(registry);
  createBatchMetrics(registry);
  createIngestMetrics(registry);
  const json = await registry.getMetricsAsJSON();
  const start = json.find((m) => m.name === 'riskstream_process_start_time_seconds');
  // Prometheus adds job and instance to every scraped series; the registry adds its default labels.
  const common = ['job', 'instance', ...Object.keys(start?.values[0]?.labels ?? {})];
  const out = new Map<string, MetricInfo>();
  for (const m of registry.getMetricsAsArray()) {
    const names = (m as unknown as { labelNames: string[] }).labelNames;
    out.set(m.name, { type: String(m.type), labels: new Set([...common, ...names]) });
  }
  const archiver = readFileSync(join(ROOT, 'src/cli/archiver.ts'), 'utf8');
  for (const [, type, body] of archiver.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{([^}]*)\}\)/g)) {
    const name = /name: '([a-z_:]+)'/.exec(body!)?.[1];
    const labels = /labelNames: \[([^\]]*)\]/.exec(body!)?.[1]?.match(/[a-z_]+/g) ?? [];
    if (name) out.set(name, { type: type!.toLowerCase(), labels: new Set([...common, ...labels]) });
  }
  // Prometheus's own series per target.
  out.set('up', { type: 'gauge', labels: new Set(['job', 'instance']) });
  return out;
}
const metrics = await registeredMetrics();

/** A metric a query may name: a registered one, or a histogram's/summary's series. */
function resolve(name: string): MetricInfo | undefined {
  const direct = metrics.get(name);
  if (direct) return direct.type === 'histogram' || direct.type === 'summary' ? undefined : direct;
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  const base = m ? metrics.get(m[1]!) : undefined;
  if (!m || !base || !(base.type === 'histogram' || (base.type === 'summary' && m[2] !== 'bucket'))) return undefined;
  return { type: 'counter', labels: m[2] === 'bucket' ? new Set([...base.labels, 'le']) : base.labels };
}

/*
 * A small reader of PromQL, enough to pull out metric names, matcher labels and by/on labels:
 * strings, ranges and numbers are single tokens, so nothing inside them looks like a name. It
 * does not check syntax; the integration test has Prometheus parse every query.
 */
interface Selector {
  readonly name: string;
  readonly matchers: string[];
  /** The function the selector is the first argument of (rate, increase, ...). */
  readonly fn?: string;
}
const TOKEN = /\s+|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(\[[^\]]*\])|(\d+(?:\.\d+)?[a-z]*)|([A-Za-z_:][\w:]*)|(=~|!~|!=|==|>=|<=|[-+*/%^=<>(){},])/y;
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', ...GROUPING]);

function tokens(expr: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(expr);
    if (!m) throw new Error(`cannot read the query at ${at}: ${expr.slice(at)}`);
    const t = m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5];
    if (t !== undefined) out.push(t);
  }
  return out;
}

/** The metric selectors of a PromQL query and the labels of its by/on/... clauses. */
function analyse(expr: string): { selectors: Selector[]; grouping: string[] } {
  const ts = tokens(substituteVariables(expr));
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  for (let i = 0; i < ts.length; i += 1) {
    const t = ts[i]!;
    if (t === '{') throw new Error(`a selector without a metric name: ${expr}`);
    if (!/^[A-Za-z_:]/.test(t)) continue;
    if (GROUPING.has(t) && ts[i + 1] === '(') {
      for (i += 2; i < ts.length && ts[i] !== ')'; i += 1) if (ts[i] !== ',') grouping.push(ts[i]!);
      continue;
    }
    // A keyword, a function, or an aggregation (`sum (`, `sum by (`).
    if (KEYWORDS.has(t) || ts[i + 1] === '(' || GROUPING.has(ts[i + 1] ?? '')) continue;
    const fn = ts[i - 1] === '(' && /^[a-z_]/.test(ts[i - 2] ?? '') ? ts[i - 2] : undefined;
    const matchers: string[] = [];
    if (ts[i + 1] === '{') {
      // label op "value" [,] ... }
      for (i += 2; i < ts.length && ts[i] !== '}'; i += ts[i + 3] === ',' ? 4 : 3) matchers.push(ts[i]!);
    }
    selectors.push({ name: t, matchers, fn });
  }
  return { selectors, grouping };
}

const RATE_FUNCTIONS = new Set(['rate', 'irate', 'increase']);

/** Every problem with the metric names and labels of one query. */
function problems(expr: string): string[] {
  const { selectors, grouping } = analyse(expr);
  const out: string[] = [];
  for (const s of selectors) {
    const info = resolve(s.name);
    if (!info) {
      out.push(`unknown metric ${s.name}`);
      continue;
    }
    for (const label of s.matchers) if (!info.labels.has(label)) out.push(`${s.name} has no label ${label}`);
    if (s.fn && RATE_FUNCTIONS.has(s.fn) && info.type !== 'counter') out.push(`${s.fn}() of the ${info.type} ${s.name}`);
  }
  for (const label of grouping) {
    if (!selectors.some((s) => resolve(s.name)?.labels.has(label))) out.push(`no metric of the query has the label ${label}`);
  }
  if (selectors.length === 0) out.push('no metric');
  return out;
}

/** What each dashboard is for (deploy/grafana/README.md): the metrics it must show. */
const MUST_SHOW: Record<string, string[]> = {
  'platform-overview.json': [
    'up', 'riskstream_ingest_events_total', 'riskstream_runtime_events_total', 'riskstream_runtime_actor_messages_total',
    'riskstream_runtime_effects_total', 'riskstream_runtime_input_lag_records', 'riskstream_runtime_event_time_lag_ms',
    'riskstream_runtime_timers_fired_total', 'riskstream_runtime_dead_letters_total', 'riskstream_runtime_rebalances_total',
  ],
  'data-quality.json': [
    'riskstream_batch_quality_score', 'riskstream_batch_quality_alert_below', 'riskstream_batch_job_runs_total',
    'riskstream_batch_job_duration_seconds_bucket', 'riskstream_batch_job_last_success_timestamp_seconds',
    'riskstream_batch_job_interval_seconds', 'riskstream_batch_graph_ring_users', 'riskstream_batch_model_promotions_total',
    'riskstream_batch_model_candidate_auc', 'riskstream_runtime_dead_letters_total', 'riskstream_runtime_events_total',
  ],
  'performance.json': [
    'riskstream_ingest_request_duration_seconds_bucket', 'riskstream_runtime_commit_seconds_bucket',
    'riskstream_runtime_outbox_drain_seconds_bucket', 'riskstream_runtime_batch_size_bucket',
    'riskstream_runtime_state_written_bytes_total', 'riskstream_runtime_active_actors',
    'riskstream_runtime_passivated_actors_total', 'riskstream_process_cpu_seconds_total',
    'riskstream_process_resident_memory_bytes', 'riskstream_nodejs_eventloop_lag_p99_seconds',
    'riskstream_nodejs_gc_duration_seconds_sum',
  ],
};

/** Grafana's and its provisioning's `${name}` reference, as plain text. */
const ref = (name: string) => `$\{${name}}`;
const DATASOURCE = { type: 'prometheus', uid: ref('datasource') };
const queryOf = (v: Dashboard['templating']['list'][number]) => (typeof v.query === 'string' ? v.query : v.query?.query ?? '');
const overlap = (a: { x: number; y: number; w: number; h: number }, b: typeof a) =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('deploy/grafana', () => {
  it('has the three dashboards with unique, stable uids', () => {
    expect(dashboards.map((d) => d.file)).toEqual(['data-quality.json', 'performance.json', 'platform-overview.json']);
    const uids = dashboards.map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const d of dashboards) {
      expect(d.uid).toMatch(/^riskstream-[a-z-]+$/); // Grafana caps uids at 40 characters
      expect(d.uid.length).toBeLessThanOrEqual(40);
      expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
      expect(d.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    }
  });

  it('every panel has a title, the templated data source and queries, and a unique id', () => {
    for (const d of dashboards) {
      const panels = allPanels(d);
      expect(new Set(panels.map((p) => p.id)).size, d.file).toBe(panels.length);
      for (const p of panels.filter((q) => q.type !== 'row')) {
        const where = `${d.file} panel ${p.id}`;
        expect(p.title, where).toBeTruthy();
        expect(p.datasource, where).toEqual(DATASOURCE);
        expect(p.targets?.length, where).toBeGreaterThan(0);
        for (const t of p.targets ?? []) {
          expect(t.expr.trim(), where).not.toBe('');
          expect(t.datasource, where).toEqual(DATASOURCE);
        }
      }
    }
  });

  it('panels stay inside the 24-column grid and do not overlap', () => {
    for (const d of dashboards) {
      const panels = allPanels(d);
      for (const [i, p] of panels.entries()) {
        const g = p.gridPos;
        expect(g.x >= 0 && g.y >= 0 && g.w >= 1 && g.h >= 1 && g.x + g.w <= 24, `${d.file} panel ${p.id}`).toBe(true);
        for (const q of panels.slice(i + 1)) expect(overlap(g, q.gridPos), `${d.file} panels ${p.id} and ${q.id}`).toBe(false);
      }
    }
  });

  it('every query names only registered metrics, with labels they carry', () => {
    const found = dashboards.flatMap((d) => panelQueries(d).map((q) => ({ ...q, problems: problems(q.expr) })));
    expect(found.length).toBeGreaterThan(50);
    expect(found.filter((q) => q.problems.length > 0).map((q) => `${q.where}: ${q.problems.join('; ')}`)).toEqual([]);
  });

  it('every alert rule names only registered metrics, with labels they carry', () => {
    const rules = parse(readFileSync(join(ROOT, 'deploy/prometheus/rules/riskstream.rules.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const found = rules.groups.flatMap((g) => g.rules).map((r) => ({ alert: r.alert, problems: problems(r.expr) }));
    expect(found.length).toBeGreaterThan(10);
    expect(found.filter((r) => r.problems.length > 0).map((r) => `${r.alert}: ${r.problems.join('; ')}`)).toEqual([]);
  });

  it('the query checker flags unknown metrics and labels and rate() of a gauge', () => {
    expect(problems('histogram_quantile(0.99, sum by (le) (rate(riskstream_runtime_commit_seconds_bucket[1m])))')).toEqual([]);
    expect(problems('sum(rate(riskstream_runtime_event_total[1m]))')).toEqual(['unknown metric riskstream_runtime_event_total']);
    // A histogram's own name is no series; a counter has no _bucket.
    expect(problems('riskstream_runtime_commit_seconds + riskstream_runtime_events_total_bucket')).toEqual([
      'unknown metric riskstream_runtime_commit_seconds',
      'unknown metric riskstream_runtime_events_total_bucket',
    ]);
    expect(problems('riskstream_runtime_dead_letters_total{reason="LATE_EVENT"}')).toEqual([
      'riskstream_runtime_dead_letters_total has no label reason',
    ]);
    expect(problems('sum by (pipeline) (rate(riskstream_runtime_effects_total{kind="emit"}[1m]))')).toEqual([
      'no metric of the query has the label pipeline',
    ]);
    expect(problems('rate(riskstream_runtime_active_actors[1m])')).toEqual(['rate() of the gauge riskstream_runtime_active_actors']);
  });

  it('every dashboard shows what it is for', () => {
    for (const d of dashboards) {
      const names = new Set(panelQueries(d).flatMap((q) => analyse(q.expr).selectors.map((s) => s.name)));
      expect(MUST_SHOW[d.file]!.filter((m) => !names.has(m)), d.file).toEqual([]);
    }
  });

  it('variables are defined, filter by regex only, and their own queries name registered metrics', () => {
    for (const d of dashboards) {
      const defined = new Set(d.templating.list.map((v) => v.name));
      for (const q of panelQueries(d)) {
        const unknown = variablesIn(q.expr).filter((v) => !defined.has(v) && !INTERVAL_VARIABLES.includes(v));
        expect(unknown, q.where).toEqual([]);
        // "All" is `.*`: a dashboard variable anywhere but in a =~ matcher would break the query.
        const outsideRegex = variablesIn(q.expr.replace(/=~"[^"]*"/g, '')).filter((v) => !INTERVAL_VARIABLES.includes(v));
        expect(outsideRegex, q.where).toEqual([]);
      }
      for (const v of d.templating.list.filter((x) => x.type === 'query')) {
        const m = /^label_values\((.+),\s*(\w+)\)$/.exec(queryOf(v));
        expect(m, `${d.file} $${v.name}`).not.toBeNull();
        expect(problems(m![1]!), `${d.file} $${v.name}`).toEqual([]);
        const metric = analyse(m![1]!).selectors[0]!.name;
        expect(resolve(metric)?.labels.has(m![2]!), `${d.file} $${v.name}`).toBe(true);
        expect(v.allValue).toBe('.*');
      }
    }
  });

  it('the provisioning files point Grafana at Prometheus and at this folder', () => {
    const ds = parse(readFileSync(join(GRAFANA_DIR, 'provisioning/datasources/prometheus.yml'), 'utf8'));
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toHaveLength(1);
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', uid: ref('DS_PROMETHEUS_UID'), url: ref('PROMETHEUS_URL'), isDefault: true });
    const dash = parse(readFileSync(join(GRAFANA_DIR, 'provisioning/dashboards/riskstream.yml'), 'utf8'));
    expect(dash.providers).toHaveLength(1);
    expect(dash.providers[0]).toMatchObject({ type: 'file', folder: 'riskstream' });
    expect(dash.providers[0].options.path).toMatch(/^\/.+/);
    const readme = readFileSync(join(GRAFANA_DIR, 'README.md'), 'utf8');
    for (const d of dashboards) expect(readme).toContain(`\`${d.uid}\``);
  });
});
