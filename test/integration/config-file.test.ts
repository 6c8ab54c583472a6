// --config FILE through the real CLI: each format serves with the file's options,
// the command line wins over the file, and every kind of bad file exits 2 naming
// the file, the key path and the reason before anything starts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, ROOT, runCli, startServer } from '../helpers/server.js';

after(killAll);

async function environ(url: string): Promise<Record<string, unknown>> {
  const res = await request(url);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Record<string, unknown>;
}

describe('--config FILE', () => {
  it('JSON: processes, threads, mount point, setenv as an object, passenv as a list', async () => {
    const server = await startServer(['--config', fixture('config/server.json')], { env: { HOME: '/home/from-env' } });
    assert.match(server.output(), /Ready: 2 workers/);
    const env = await environ(`${server.url.replace(/\/$/, '')}/json/environ`);
    assert.equal(env.SCRIPT_NAME, '/json');
    assert.equal(env.STAGE, 'json');
    assert.equal(env.PORT_NUMBER, '8080');
    assert.equal(env.HOME, '/home/from-env');
    assert.equal(env['tsgi.multiprocess'], true);
    assert.equal((await request(`${server.url.replace(/\/$/, '')}/environ`)).statusCode, 404);
  });

  it('YAML with camelCase keys; the command line replaces a value and adds to setenv, winning on a clash', async () => {
    const server = await startServer([
      '--config', fixture('config/server.yaml'),
      '--mount-point', '/cli', '--setenv', 'STAGE', 'cli', '--setenv', 'EXTRA', 'x',
    ]);
    const env = await environ(`${server.url.replace(/\/$/, '')}/cli/environ`);
    assert.equal(env.SCRIPT_NAME, '/cli');
    assert.equal(env.STAGE, 'cli');
    assert.equal(env.EXTRA, 'x');
    assert.equal(env.FLAG, 'no'); // YAML 1.2: `no` is a string
    assert.equal(env['tsgi.multiprocess'], false);
  });

  it('a .ts module exporting defineConfig(...)', async () => {
    const server = await startServer(['--config', fixture('config/server.ts')]);
    const env = await environ(`${server.url.replace(/\/$/, '')}/ts/environ`);
    assert.equal(env.STAGE, 'ts');
    assert.equal(env.SCRIPT_NAME, '/ts');
  });

  it('a .mjs module exporting an async function; a SCRIPT on the command line replaces the file\'s', async () => {
    const server = await startServer([fixture('config/hello.ts'), '--config', fixture('config/server.mjs')]);
    const res = await request(`${server.url.replace(/\/$/, '')}/mjs/`);
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'hello.ts at /mjs STAGE=mjs');
  });

  const bad: [string, RegExp][] = [
    ['missing.json', /--config \S+missing\.json: no such file$/],
    ['server.toml', /--config \S+server\.toml: unknown file type \(expected \.json, \.yaml, \.yml, or a module/],
    ['bad-syntax.json', /\S+bad-syntax\.json:3:18: not valid JSON: Expected double-quoted property name$/],
    ['bad-syntax.yaml', /\S+bad-syntax\.yaml:4:\d+: not valid YAML: /],
    ['bad-syntax.mjs', /\S+bad-syntax\.mjs:1:51: the module could not be loaded: SyntaxError: Unexpected token/],
    ['throws.ts', /\S+throws\.ts: the module could not be loaded: Error: STAGE must be set to build this config/],
    ['no-default.mjs', /\S+no-default\.mjs: no default export/],
    ['not-object.json', /\S+not-object\.json: must hold an object of options \(got a list\)$/],
    ['unknown-key.yaml', /\S+unknown-key\.yaml: unknown key "proceses" \(did you mean "processes"\?\)$/],
    ['twice.yaml', /\S+twice\.yaml: "mount-point" and "mountPoint" are the same option; give it once$/],
    ['bad-value.json', /\S+bad-value\.json: trust-proxy\[1\] must be an IP address or CIDR block/],
    ['bad-setenv.yaml', /\S+bad-setenv\.yaml: setenv\.NESTED must be a string \(got \{"a":1\}\)$/],
    ['bad-type.ts', /\S+bad-type\.ts: threads must be an integer \(got "many"\)$/],
  ];
  for (const [file, expected] of bad) {
    it(`${file}: exits 2 before anything starts, naming the file and why`, async () => {
      const { code, output } = await runCli(['start-server', '--config', fixture(`config/${file}`), '--port', '0']);
      assert.equal(code, 2, output);
      const first = output.trim().split('\n')[0]!;
      assert.match(first, /^tsgi-express: error: /);
      assert.match(first, expected);
      assert.doesNotMatch(output, /Ready:/);
    });
  }
});

describe('docs/applications.md: the configuration files as the guide shows them', () => {
  const guide = readFileSync(path.join(ROOT, 'docs/applications.md'), 'utf8');
  for (const [file, greeting] of [['site.yaml', 'hello from YAML'], ['site.json', 'hello from JSON'], ['site.ts', 'hello from TypeScript']] as const) {
    it(`examples/config/${file} is in the guide and serves as it says`, async () => {
      const text = readFileSync(path.join(ROOT, 'examples/config', file), 'utf8');
      assert.ok(guide.includes(`<!-- file: examples/config/${file} -->\n\`\`\`${file.split('.')[1]}\n${text}\`\`\``), `the guide does not show ${file} as it is`);
      const env = { ...process.env };
      delete env.DEPLOY_STAGE;
      const server = await startServer(['--config', path.join(ROOT, 'examples/config', file)], { env });
      assert.match(server.output(), /Ready: 2 workers/);
      const res = await request(`${server.url}env/`);
      assert.equal(res.statusCode, 200);
      assert.ok((await res.body.text()).includes(greeting), `the page lacks ${greeting}`);
    });
  }
});
