import { describe, expect, it } from 'vitest';
import { type LineageSink, runEvent, withLineage } from '../../../src/batch/lineage.ts';
import { jobContext } from '../../support/batch-memory.ts';

class MemorySink implements LineageSink {
  readonly events: Record<string, unknown>[] = [];
  async emit(event: Readonly<Record<string, unknown>>): Promise<void> {
    this.events.push(JSON.parse(JSON.stringify(event)));
  }
}

const describeRun = (rows: number) => ({
  inputs: [{ namespace: 'file', name: '/lake', rows }],
  outputs: [{ namespace: 'redis://h:6379', name: 'rs:graph:v:1', rows: rows / 2 }],
});

describe('batch lineage (OpenLineage run events)', () => {
  it('an attempt that completes is START then COMPLETE of one run, with row counts on its datasets', async () => {
    const sink = new MemorySink();
    let t = 1_000;
    const run = withLineage('graph-rebuild', async () => ({ rows: 40 }), (r) => describeRun(r.rows), sink, () => (t += 1_000));
    expect(await run(jobContext(5))).toEqual({ rows: 40 });
    expect(sink.events).toHaveLength(2);
    interface Facet { _producer: string; _schemaURL: string; rowCount: number }
    interface Event { run: { runId: string }; producer: string; inputs: { inputFacets: { inputStatistics: Facet } }[]; outputs: { outputFacets: { outputStatistics: Facet } }[] }
    const [start, complete] = sink.events as unknown as Event[];
    expect(start).toMatchObject({ eventType: 'START', eventTime: new Date(2_000).toISOString(), job: { namespace: 'riskstream', name: 'graph-rebuild' }, inputs: [], outputs: [] });
    expect(complete?.run.runId).toBe(start?.run.runId);
    expect(complete?.run.runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(complete).toMatchObject({
      eventType: 'COMPLETE',
      eventTime: new Date(3_000).toISOString(),
      schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
      inputs: [{ namespace: 'file', name: '/lake', inputFacets: { inputStatistics: { rowCount: 40 } } }],
      outputs: [{ namespace: 'redis://h:6379', name: 'rs:graph:v:1', outputFacets: { outputStatistics: { rowCount: 20 } } }],
    });
    // every facet names its producer and schema, as the spec requires
    for (const f of [complete?.inputs[0]?.inputFacets.inputStatistics, complete?.outputs[0]?.outputFacets.outputStatistics]) {
      expect(f?._producer).toBe(complete?.producer);
      expect(f?._schemaURL).toMatch(/^https:\/\/openlineage\.io\/spec\/facets\/.+\.json#\/\$defs\//);
    }
  });

  it('an attempt that fails is START then FAIL with the error, and the error still reaches the queue', async () => {
    const sink = new MemorySink();
    const run = withLineage('quality-check', async () => {
      throw new Error('lake unreadable');
    }, () => describeRun(1), sink, () => 7);
    await expect(run(jobContext(5))).rejects.toThrow('lake unreadable');
    expect(sink.events.map((e) => e.eventType)).toEqual(['START', 'FAIL']);
    expect(sink.events[1]).toMatchObject({ run: { facets: { errorMessage: { message: 'lake unreadable', programmingLanguage: 'TypeScript' } } }, inputs: [], outputs: [] });
  });

  it('each attempt is its own run', async () => {
    const sink = new MemorySink();
    const run = withLineage('x', async () => 1, () => describeRun(2), sink, () => 0);
    await run(jobContext(1));
    await run(jobContext(1));
    expect(new Set(sink.events.map((e) => (e.run as { runId: string }).runId)).size).toBe(2);
    expect(runEvent('START', 'id', 'x', 0)).not.toHaveProperty('run.facets');
  });
});
