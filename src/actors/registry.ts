import type { Pipeline } from '../runtime/actor.ts';
import { counterPipeline } from './counter/counter.ts';
import { historyPipeline } from './history/history-pipeline.ts';
import { merchantPipeline, userPipeline } from './payments/pipelines.ts';
import type { ScoringContext } from './user/user-actor.ts';

/**
 * Every pipeline a worker can run, by name. A worker runs one or more of them:
 * `worker --pipeline counter --topic <logical topic>`.
 */
export interface PipelineOptions {
  readonly topic?: string;
  /** Current model and graph context; required by pipelines that score. */
  readonly scoring: ScoringContext;
  readonly allowedLatenessMs: number;
}

export type PipelineFactory = (options: PipelineOptions) => Pipeline<unknown>;

export const pipelines: Readonly<Record<string, PipelineFactory>> = Object.freeze({
  counter: ({ topic }) => counterPipeline(topic ?? 'counter.input') as unknown as Pipeline<unknown>,
  merchant: () => merchantPipeline() as unknown as Pipeline<unknown>,
  user: ({ scoring, allowedLatenessMs }) => userPipeline(scoring, { allowedLatenessMs }) as unknown as Pipeline<unknown>,
  history: () => historyPipeline() as unknown as Pipeline<unknown>,
});

/** Pipelines that read `scoring` (the model and the graph snapshot); the others never load them. */
export const SCORING_PIPELINES: ReadonlySet<string> = new Set(['user']);
