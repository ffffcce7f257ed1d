import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadDashboards, panelQueries, substituteVariables } from '../support/grafana.ts';
import { REPO_ROOT } from '../support/services.ts';

const run = promisify(execFile);
const PROMETHEUS = 'http://127.0.0.1:9090';

// deploy/prometheus: the config and alert rules are valid, the rules' own unit tests pass, and
// the stack's Prometheus runs them with the remote-write receiver on.
describe('Prometheus config and alert rules', () => {
  it('promtool accepts the config and the rules', async () => {
    const config = await run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml'], {
      cwd: REPO_ROOT,
    });
    expect(config.stdout).toContain('SUCCESS');
    const rules = await run('promtool', ['check', 'rules', 'deploy/prometheus/rules/riskstream.rules.yml'], {
      cwd: REPO_ROOT,
    });
    expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('alert rules fire as their promtool unit tests expect', async () => {
    const result = await run(
      'promtool',
      ['test', 'rules', 'deploy/prometheus/rules/riskstream.rules.test.yml'],
      {
        cwd: REPO_ROOT,
      },
    );
    expect(result.stdout).toContain('SUCCESS');
  });

  it('the running Prometheus loaded the rules and accepts remote writes', async () => {
    const rules = (await (await fetch(`${PROMETHEUS}/api/v1/rules`)).json()) as {
      data: { groups: { name: string; rules: { name: string }[] }[] };
    };
    const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    expect(names).toContain('RiskstreamTargetDown');
    // An empty body is a bad request to an enabled receiver; a disabled one answers 404.
    const write = await fetch(`${PROMETHEUS}/api/v1/write`, { method: 'POST', body: '' });
    expect(write.status).toBe(400);
  });

  it('the running Prometheus accepts every Grafana panel query (variables on All, intervals 1m)', async () => {
    const queries = loadDashboards().flatMap(panelQueries);
    expect(queries.length).toBeGreaterThan(50);
    const refused: string[] = [];
    for (const q of queries) {
      const res = await fetch(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(substituteVariables(q.expr))}`);
      const body = (await res.json()) as { status: string; error?: string };
      if (body.status !== 'success') refused.push(`${q.where}: ${res.status} ${body.error}`);
    }
    expect(refused).toEqual([]);
  });
});
