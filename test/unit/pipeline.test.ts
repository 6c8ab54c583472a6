import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { Admission } from '../../src/pipeline/admission.js';
import { buildStages, composePipeline } from '../../src/pipeline/build.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { PIPELINE, type StageEntry } from '../../src/pipeline/stages.js';
import type { Config } from '../../src/config/schema.js';
import type { StageDeps } from '../../src/pipeline/stages.js';

test('stages run in the order the pipeline lists them, skipping those the config leaves out, then the app', () => {
  const seen: string[] = [];
  const entry = (name: string, on = true): StageEntry => ({
    name,
    build: () =>
      on
        ? (ctx, next) => {
            seen.push(name);
            next(ctx);
          }
        : undefined,
  });
  const stages = buildStages({} as Config, {} as StageDeps, [entry('access-log'), entry('mount', false), entry('admission')]);
  const run = composePipeline(stages, () => seen.push('app'));
  run({} as RequestContext);
  assert.deepEqual(seen, ['access-log', 'admission', 'app']);
});

test('the pipeline starts with the request metrics and the access log (they count and log every answer) and ends with admission, then 100 Continue (the app call follows)', () => {
  const names = PIPELINE.map((e) => e.name);
  assert.deepEqual(names.slice(0, 2), ['request-metrics', 'access-log']);
  assert.deepEqual(names.slice(-2), ['admission', 'expect-continue']);
  assert.equal(new Set(names).size, names.length, 'stage names are unique');
});

test('a stage that answers the request stops the chain', () => {
  let appCalled = false;
  const run = composePipeline([{ name: 'mount', stage: () => {} }], () => (appCalled = true));
  run({} as RequestContext);
  assert.equal(appCalled, false);
});

test('admission: with one thread, waiting requests run one at a time in arrival order', () => {
  const admission = new Admission(1, 0);
  const started: string[] = [];
  const responses = new Map<string, EventEmitter>();
  for (const id of ['a', 'b', 'c', 'd']) {
    const res = Object.assign(new EventEmitter(), { destroyed: false });
    responses.set(id, res);
    admission.stage({ id, res } as unknown as RequestContext, (ctx) => started.push(ctx.id));
  }
  assert.deepEqual(started, ['a']);
  assert.equal(admission.queued, 3);
  for (const [id, next] of [['a', 'b'], ['b', 'c'], ['c', 'd']] as const) {
    responses.get(id)!.emit('close');
    assert.equal(started.at(-1), next, `after ${id} closed`);
  }
  assert.deepEqual(started, ['a', 'b', 'c', 'd']);
});
