/**
 * The request pipeline: the ordered, named stages every request passes through,
 * ending in the application call. Later features (host check, static files,
 * auth, body limits) are new entries in STAGE_ORDER, not rewrites.
 */
import type { AppHandler, RequestContext, Stage } from './context.js';

export interface NamedStage {
  readonly name: string;
  readonly stage: Stage;
}

/** The order stages run in; builders may leave any out. */
export const STAGE_ORDER = ['access-log', 'header-filter', 'mount', 'admission'] as const;
export type StageName = (typeof STAGE_ORDER)[number];

/** Chains the stages into one function; `next` is bound here, once, not per request. */
export function composePipeline(stages: readonly NamedStage[], app: AppHandler): (ctx: RequestContext) => void {
  let next: (ctx: RequestContext) => void = app;
  for (let i = stages.length - 1; i >= 0; i--) {
    const { stage } = stages[i]!;
    const after = next;
    next = (ctx) => stage(ctx, after);
  }
  return next;
}
