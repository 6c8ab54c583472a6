// config/groups.ts: which apps run in which process group, each group's settings and
// defaults, the checks at start-up, the front's routing table and the group workers' Config.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppConfig } from '../../src/config/apps.js';
import { checkGroups, groupView, hopTargets, processGroups, servedHere } from '../../src/config/groups.js';
import type { Config } from '../../src/config/schema.js';
import { UsageError } from '../../src/errors.js';

function app(mount: string, extra: Partial<AppConfig> = {}): AppConfig {
  return {
    mount,
    scriptPath: `/srv${mount}/app.ts`,
    interface: 'auto',
    callableObject: 'application',
    keepMountPrefix: false,
    setenv: [],
    passenv: [],
    source: `site.yaml: apps[${mount}]`,
    group: mount,
    ...extra,
  };
}

function config(apps: AppConfig[], extra: Partial<Config> = {}): Config {
  return {
    apps,
    debugMode: false,
    processes: 3,
    threads: 7,
    queueTimeout: 45,
    multiprocess: false,
    setenv: [['SHARED', 'yes']],
    passenv: ['HOME'],
    serverRoot: '/tmp/root',
    scriptPath: '/srv/main.ts',
    mountPoint: '/',
    httpsPort: 8443,
    metricsPort: 9100,
    ...extra,
  } as unknown as Config;
}

describe('process groups', () => {
  it('each app gets its own group by default, sized like the main app; group main is the front', () => {
    const c = config([app('/a'), app('/b', { group: 'main' }), app('/c', { processes: 2, workingDirectory: '/w' })]);
    const groups = processGroups(c);
    assert.deepEqual(groups.map((g) => [g.name, g.apps, g.processes, g.threads, g.queueTimeout, g.workingDirectory, g.multiprocess]), [
      ['/a', [0], 3, 7, 45, '/srv/a', false],
      ['/c', [2], 2, 7, 45, '/w', true],
    ]);
  });

  it('apps naming one group share it; its settings come from whichever entry gives them', () => {
    const c = config([app('/a', { group: 'shop', threads: 2 }), app('/b'), app('/a/x', { group: 'shop', processes: 4 })]);
    const shop = processGroups(c).find((g) => g.name === 'shop')!;
    assert.deepEqual([shop.apps, shop.processes, shop.threads], [[0, 2], 4, 2]);
  });

  it('debug mode, or every app in group main: no groups at all', () => {
    assert.deepEqual(processGroups(config([app('/a')], { debugMode: true } as Partial<Config>)), []);
    assert.deepEqual(processGroups(config([app('/a', { group: 'main' })])), []);
  });

  it('refuses two entries of one group that disagree, and sizes for group main', () => {
    assert.throws(() => checkGroups([app('/a', { group: 's', processes: 2 }), app('/b', { group: 's', processes: 3 })]), (err: Error) =>
      err instanceof UsageError && /apps\[\/b\]: processes 3 conflicts with site\.yaml: apps\[\/a\]'s 2 for group "s"/.test(err.message));
    assert.doesNotThrow(() => checkGroups([app('/a', { group: 's', processes: 2 }), app('/b', { group: 's', processes: 2 })]));
    assert.throws(() => checkGroups([app('/a', { group: 'main', queueTimeout: 3 })]), /queue-timeout: the main application's group \(group: main\) is sized by the top-level options/);
  });

  it('the front routes each app by index to its group\'s socket and its index there; it loads only group main\'s apps', () => {
    const c = config([app('/a', { group: 'shop' }), app('/b', { group: 'main' }), app('/c', { group: 'shop' })], { groupSockets: { shop: '/tmp/root/group-1.sock' } } as Partial<Config>);
    assert.deepEqual(hopTargets(c), [undefined, { group: 'shop', socketPath: '/tmp/root/group-1.sock', index: 0 }, undefined, { group: 'shop', socketPath: '/tmp/root/group-1.sock', index: 1 }]);
    assert.deepEqual(c.apps.map((_, i) => servedHere(c, i)), [false, true, false]);
  });

  it('a group\'s workers run its first app as their main one, the others beside it, without the front\'s listeners', () => {
    const c = config([app('/a', { group: 'shop', setenv: [['STAGE', 'a']] }), app('/c', { group: 'shop', setenv: [['STAGE', 'c']] })]);
    const [shop] = processGroups(c);
    const view = groupView(c, shop!);
    assert.deepEqual([view.mountPoint, view.scriptPath, view.apps.map((a) => a.mount), view.servesGroup], ['/a', '/srv/a/app.ts', ['/c'], 'shop']);
    assert.deepEqual(view.setenv, [['SHARED', 'yes'], ['STAGE', 'a']]);
    // The group's other apps get the server's setenv, not its first app's.
    assert.deepEqual(view.serverEnv, { setenv: [['SHARED', 'yes']], passenv: ['HOME'] });
    assert.deepEqual([view.httpsPort, view.metricsPort, view.processes, view.threads], [undefined, undefined, 3, 7]);
    assert.deepEqual(hopTargets(view), []);
    assert.ok(servedHere(view, 0));
  });
});
