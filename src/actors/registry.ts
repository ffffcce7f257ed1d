import type { Pipeline } from '../runtime/actor.ts';
import { counterPipeline } from './counter/counter.ts';
import { merchantPipeline } from './payments/pipelines.ts';

/**
 * Every pipeline a worker can run, by name. A worker runs one or more of them:
 * `worker --pipeline counter --topic <logical topic>`.
 */
export type PipelineFactory = (options: { topic?: string }) => Pipeline<unknown>;

export const pipelines: Readonly<Record<string, PipelineFactory>> = Object.freeze({
  counter: ({ topic }) => counterPipeline(topic ?? 'counter.input') as unknown as Pipeline<unknown>,
  merchant: () => merchantPipeline() as unknown as Pipeline<unknown>,
});
