import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { Admission } from '../../src/pipeline/admission.js';
import { composePipeline, type NamedStage } from '../../src/pipeline/build.js';
import type { RequestContext } from '../../src/pipeline/context.js';

test('stages run in STAGE_ORDER whatever order they are listed in, then the app', () => {
  const seen: string[] = [];
  const named = (name: NamedStage['name']): NamedStage => ({
    name,
    stage: (ctx, next) => {
      seen.push(name);
      next(ctx);
    },
  });
  const run = composePipeline([named('admission'), named('mount'), named('access-log')], () => seen.push('app'));
  run({} as RequestContext);
  assert.deepEqual(seen, ['access-log', 'mount', 'admission', 'app']);
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
