import assert from 'node:assert/strict';
import { test } from 'node:test';
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
