/**
 * Lineage of the batch jobs as OpenLineage run events (spec 2-0-2), so an existing catalog
 * (Marquez, DataHub, OpenMetadata) can read what each run read and wrote. Every attempt is a run:
 * a START event, then COMPLETE with its inputs and outputs and their row counts, or FAIL with
 * the error.
 */
import { randomUUID } from 'node:crypto';
import type { JobContext } from './ports.ts';

/** The producer URI every event and facet carries. */
const PRODUCER = 'urn:riskstream:batch';
const RUN_EVENT = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const FACETS = 'https://openlineage.io/spec/facets';

/** A dataset a run read or wrote, with the rows it read or wrote there. */
export interface LineageDataset {
  readonly namespace: string;
  readonly name: string;
  readonly rows: number;
}

export interface RunLineage {
  readonly inputs: readonly LineageDataset[];
  readonly outputs: readonly LineageDataset[];
}

export type RunEventType = 'START' | 'COMPLETE' | 'FAIL';

/** Where run events go (a JSON-lines file in production, memory in tests). */
export interface LineageSink {
  emit(event: Readonly<Record<string, unknown>>): Promise<void>;
}

export function runEvent(
  type: RunEventType,
  runId: string,
  jobName: string,
  eventTimeMs: number,
  lineage?: RunLineage,
  error?: Error,
): Record<string, unknown> {
  const facet = (schema: string) => ({ _producer: PRODUCER, _schemaURL: `${FACETS}/${schema}` });
  const run: Record<string, unknown> = { runId };
  if (error) {
    run.facets = {
      errorMessage: { ...facet('1-0-0/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet'), message: error.message, programmingLanguage: 'TypeScript', stackTrace: error.stack },
    };
  }
  return {
    eventType: type,
    eventTime: new Date(eventTimeMs).toISOString(),
    run,
    job: { namespace: 'riskstream', name: jobName },
    inputs: (lineage?.inputs ?? []).map((d) => ({
      namespace: d.namespace,
      name: d.name,
      inputFacets: { inputStatistics: { ...facet('1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet'), rowCount: d.rows } },
    })),
    outputs: (lineage?.outputs ?? []).map((d) => ({
      namespace: d.namespace,
      name: d.name,
      outputFacets: { outputStatistics: { ...facet('1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet'), rowCount: d.rows } },
    })),
    producer: PRODUCER,
    schemaURL: RUN_EVENT,
  };
}

/**
 * Wraps a job's run so each attempt emits START and COMPLETE (with `describe(result)`) or FAIL.
 * A lineage sink that fails is logged by the caller's error path, not hidden: the run fails.
 */
export function withLineage<R>(
  jobName: string,
  run: (ctx: JobContext) => Promise<R>,
  describe: (result: R) => RunLineage,
  sink: LineageSink,
  now: () => number,
): (ctx: JobContext) => Promise<R> {
  return async (ctx) => {
    const runId = randomUUID();
    await sink.emit(runEvent('START', runId, jobName, now()));
    let result: R;
    try {
      result = await run(ctx);
    } catch (err) {
      await sink.emit(runEvent('FAIL', runId, jobName, now(), undefined, err instanceof Error ? err : new Error(String(err))));
      throw err;
    }
    await sink.emit(runEvent('COMPLETE', runId, jobName, now(), describe(result)));
    return result;
  };
}
