/**
 * The request pipeline: the ordered, named stages every request passes through,
 * ending in the application call. Later features (host check, static files,
 * auth, body limits) are new entries in STAGE_ORDER, not rewrites.
 */
import type { AppHandler, RequestContext, Stage } from './context.js';

/** The order stages run in, whatever order a builder lists them in; builders may leave any out. */
export const STAGE_ORDER = ['access-log', 'host-check', 'header-filter', 'mount', 'admission'] as const;
export type StageName = (typeof STAGE_ORDER)[number];

export interface NamedStage {
  readonly name: StageName;
  readonly stage: Stage;
}

/** Chains the stages, in STAGE_ORDER, into one function; `next` is bound here, once, not per request. */
export function composePipeline(given: readonly NamedStage[], app: AppHandler): (ctx: RequestContext) => void {
  const stages = [...given].sort((a, b) => STAGE_ORDER.indexOf(a.name) - STAGE_ORDER.indexOf(b.name));
  let next: (ctx: RequestContext) => void = app;
  for (let i = stages.length - 1; i >= 0; i--) {
    const { stage } = stages[i]!;
    const after = next;
    next = (ctx) => stage(ctx, after);
  }
  return next;
}
