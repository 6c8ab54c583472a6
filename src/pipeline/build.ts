/**
 * Composes the pipeline (pipeline/stages.ts, the ordered list) into one function
 * ending in the application call.
 */
import type { Config } from '../config/schema.js';
import type { AppHandler, RequestContext, Stage } from './context.js';
import { PIPELINE, type StageDeps, type StageEntry, type StageName } from './stages.js';

export interface NamedStage {
  readonly name: StageName;
  readonly stage: Stage;
}

/** The stages the Config turns on, in pipeline order. */
export function buildStages(config: Config, deps: StageDeps, entries: readonly StageEntry[] = PIPELINE): NamedStage[] {
  const stages: NamedStage[] = [];
  for (const entry of entries) {
    const stage = entry.build(config, deps);
    if (stage) stages.push({ name: entry.name as StageName, stage });
  }
  return stages;
}

/** Chains the stages, in the order given, into one function; `next` is bound here, once, not per request. */
export function composePipeline(stages: readonly NamedStage[], app: AppHandler): (ctx: RequestContext) => void {
  let next: (ctx: RequestContext) => void = app;
  for (let i = stages.length - 1; i >= 0; i--) {
    const { stage } = stages[i]!;
    const after = next;
    next = (ctx) => stage(ctx, after);
  }
  return next;
}
