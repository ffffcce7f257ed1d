import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * deploy/grafana's dashboards as the unit test (names and labels) and the integration test
 * (Prometheus accepts every query) read them.
 */
export const GRAFANA_DIR = new URL('../../deploy/grafana/', import.meta.url).pathname;

export interface Target {
  readonly refId: string;
  readonly expr: string;
  readonly datasource?: { type: string; uid: string };
}
export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title?: string;
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly targets?: Target[];
  /** Panels of a collapsed row. */
  readonly panels?: Panel[];
}
export interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { query: string };
  readonly allValue?: string;
}
export interface Dashboard {
  readonly file: string;
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: Panel[];
  readonly templating: { list: Variable[] };
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(GRAFANA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ ...(JSON.parse(readFileSync(join(GRAFANA_DIR, file), 'utf8')) as Omit<Dashboard, 'file'>), file }));
}

/** Every panel, rows' nested panels included. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every query of every panel, with where it comes from for messages. */
export function panelQueries(d: Dashboard): { where: string; expr: string }[] {
  return allPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `${d.file} "${p.title}" ${t.refId}`, expr: t.expr })),
  );
}

/** Grafana's built-in interval variables; everything else is a dashboard variable. */
export const INTERVAL_VARIABLES = ['__rate_interval', '__interval', '__range'];
const VARIABLE = /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g;

/** The names of the `$var` / `${var}` references in a query. */
export function variablesIn(expr: string): string[] {
  return [...expr.matchAll(VARIABLE)].map((m) => (m[1] ?? m[2])!);
}

/**
 * The query as Grafana would send it with every dashboard variable on "All" (`.*`, their
 * allValue) and the interval variables at one minute.
 */
export function substituteVariables(expr: string): string {
  return expr.replace(VARIABLE, (_all, braced: string | undefined, bare: string | undefined) =>
    INTERVAL_VARIABLES.includes((braced ?? bare)!) ? '1m' : '.*',
  );
}
