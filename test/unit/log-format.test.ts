import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAccess } from '../../src/logging/access-format.js';
import { compileLogFormat, LogFormatError, type AccessFacts } from '../../src/logging/log-format.js';

const START = Date.UTC(2026, 10, 21, 12, 6, 48, 250);

function facts(over: Partial<AccessFacts> = {}): AccessFacts {
  const reqHeaders: Record<string, string> = { referer: 'http://ref.example/', 'user-agent': 'tester "1"', 'x-trace': 'abc' };
  const resHeaders: Record<string, string> = { 'content-type': 'text/plain' };
  return {
    remoteAddr: '127.0.0.1', remotePort: 40000, localAddr: '127.0.0.1', localPort: 8000, user: undefined,
    startMs: START, durationUs: 2_345_678, method: 'GET', target: '/a/b?x=1', protocol: 'HTTP/1.1',
    requestLine: 'GET /a/b?x=1 HTTP/1.1',
    status: 404, bytes: 12, pid: 4242, requestId: '3a-1', serverName: 'localhost', peerAddr: '10.0.0.9', requestedName: 'example.org',
    connection: '+',
    requestHeader: (n) => reqHeaders[n.toLowerCase()],
    responseHeader: (n) => resHeaders[n.toLowerCase()],
    ...over,
  };
}

function line(format: string, over: Partial<AccessFacts> = {}): string {
  return compileLogFormat(format)(facts(over));
}

describe('Apache LogFormat strings', () => {
  it('common and combined compile to what the hand-written formatter writes', () => {
    const f = facts();
    const entry = {
      remoteAddr: f.remoteAddr, user: f.user, timeMs: f.startMs, requestLine: 'GET /a/b?x=1 HTTP/1.1',
      status: f.status, bytes: f.bytes, referer: 'http://ref.example/', userAgent: 'tester "1"',
    };
    for (const name of ['common', 'combined'] as const) {
      assert.equal(compileLogFormat(name)(f), formatAccess(name, entry));
      assert.equal(line(name === 'common' ? '%h %l %u %t "%r" %>s %b' : '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"'), formatAccess(name, entry));
    }
  });

  it('request, response and server directives', () => {
    assert.equal(line('%m %U %q %H %s %>s %<s %B %b'), 'GET /a/b ?x=1 HTTP/1.1 404 404 404 12 12\n');
    assert.equal(line('%{X-Trace}i|%{Content-Type}o|%{Missing}i|%{Missing}o'), 'abc|text/plain|-|-\n');
    assert.equal(line('%a %{c}a %A %p %{local}p %{canonical}p %{remote}p'), '127.0.0.1 10.0.0.9 127.0.0.1 8000 8000 8000 40000\n');
    assert.equal(line('%P %{pid}P %L %v %V %X'), '4242 4242 3a-1 localhost example.org +\n');
    assert.equal(line('%X', { connection: 'X' }), 'X\n');
  });

  it('times: %t, %{sec|msec|usec}t, %D, %T, %{s|ms|us}T', () => {
    assert.match(line('%t'), /^\[\d\d\/Nov\/2026:\d\d:\d\d:48 [+-]\d{4}\]\n$/);
    assert.equal(line('%{sec}t %{msec}t %{usec}t'), `${Math.floor(START / 1000)} ${START} ${START * 1000}\n`);
    assert.equal(line('%D %T %{s}T %{ms}T %{us}T'), '2345678 2 2 2345 2345678\n');
  });

  it('literal text, %%, \\n and \\t; %b is - for an empty body, %B 0', () => {
    assert.equal(line('100%% \\t%b\\n%B', { bytes: 0 }), '100% \t-\n0\n');
  });

  it('escapes what the client sent: quotes, backslashes and control characters', () => {
    assert.equal(line('"%{User-agent}i" "%r"', { requestLine: 'GET /x\x01 HTTP/1.1' }), '"tester \\"1\\"" "GET /x\\x01 HTTP/1.1"\n');
  });

  it('refuses what it cannot log, naming it', () => {
    const cases: [string, RegExp][] = [
      ['%Z', /%Z is not a directive/],
      ['%{x}e', /%\{x\}e is not a directive/],
      ['%{hours}T', /%\{hours\}T is not a directive/],
      ['%400,501{Referer}i', /status conditions/],
      ['%{Referer', /unclosed \{/],
      ['trailing %', /unfinished % directive/],
    ];
    for (const [format, message] of cases) {
      assert.throws(() => compileLogFormat(format), (err: unknown) => err instanceof LogFormatError && message.test(err.message), format);
    }
  });
});
