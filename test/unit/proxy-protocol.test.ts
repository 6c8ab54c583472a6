// The PROXY protocol parser against preambles the test's own client builds
// (test/helpers/proxy-client.ts), byte by byte too, and malformed ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, parseProxyHeader } from '../../src/net/proxy-protocol.js';
import { proxyV1, proxyV2, V2_SIGNATURE } from '../helpers/proxy-client.js';

function done(buf: Buffer) {
  const result = parseProxyHeader(buf);
  assert.equal(result.state, 'done', JSON.stringify(result));
  return result as Extract<typeof result, { state: 'done' }>;
}

describe('PROXY protocol parser', () => {
  it('reads v1 TCP4 and TCP6, and UNKNOWN', () => {
    const v4 = done(Buffer.concat([proxyV1('203.0.113.5', '192.0.2.1', 51234, 443), Buffer.from('GET /')]));
    assert.deepEqual(v4.header.source, { address: '203.0.113.5', port: 51234, family: 'IPv4' });
    assert.equal(v4.length, proxyV1('203.0.113.5', '192.0.2.1', 51234, 443).length);
    const v6 = done(proxyV1('2001:db8::5', '2001:db8::1', 1, 80));
    assert.deepEqual(v6.header.source, { address: '2001:db8::5', port: 1, family: 'IPv6' });
    assert.equal(done(Buffer.from('PROXY UNKNOWN\r\n')).header.source, undefined);
  });

  it('reads v2 IPv4, IPv6, LOCAL and the SSL TLV', () => {
    const v4 = done(proxyV2({ src: '203.0.113.5', dst: '192.0.2.1', sport: 51234, dport: 443 }));
    assert.deepEqual(v4.header.source, { address: '203.0.113.5', port: 51234, family: 'IPv4' });
    assert.equal(v4.header.tls, false);
    const v6 = done(proxyV2({ src: '2001:db8::5', dst: '2001:db8::1', sport: 9, dport: 443, tls: true }));
    assert.deepEqual(v6.header.source, { address: '2001:db8::5', port: 9, family: 'IPv6' });
    assert.equal(v6.header.tls, true);
    const local = done(proxyV2({ local: true }));
    assert.equal(local.header.source, undefined);
    assert.equal(local.length, 16);
  });

  it('asks for more until the header is complete, byte by byte', () => {
    for (const full of [proxyV1('203.0.113.5', '192.0.2.1', 1, 2), proxyV2({ src: '203.0.113.5', dst: '192.0.2.1', sport: 1, dport: 2, tls: true })]) {
      for (let n = 0; n < full.length; n++) assert.equal(parseProxyHeader(full.subarray(0, n)).state, 'more', `${n} bytes`);
      assert.equal(parseProxyHeader(full).state, 'done');
    }
  });

  it('refuses what is not a valid header', () => {
    const bad = [
      'GET / HTTP/1.1\r\n', 'PROXY TCP4 203.0.113.5 192.0.2.1 1\r\n', 'PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n',
      'PROXY TCP4 203.0.113.5 192.0.2.1 70000 2\r\n', 'PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n', `PROXY TCP4 ${'1'.repeat(120)}`,
    ];
    for (const text of bad) assert.equal(parseProxyHeader(Buffer.from(text)).state, 'invalid', text);
    const wrongVersion = proxyV2({ local: true });
    wrongVersion[12] = 0x10;
    assert.equal(parseProxyHeader(wrongVersion).state, 'invalid');
    const short = proxyV2({ src: '203.0.113.5', dst: '192.0.2.1', sport: 1, dport: 2 });
    short.writeUInt16BE(4, 14);
    assert.equal(parseProxyHeader(short.subarray(0, 20)).state, 'invalid');
  });

  it('tells a preamble from HTTP on the first bytes', () => {
    assert.equal(classify(Buffer.from('GET / HTTP/1.1')), 'other');
    assert.equal(classify(Buffer.from('PRO')), 'more');
    assert.equal(classify(Buffer.from('PROXY ')), 'proxy');
    assert.equal(classify(V2_SIGNATURE.subarray(0, 5)), 'more');
    assert.equal(classify(V2_SIGNATURE), 'proxy');
    assert.equal(classify(Buffer.from('\r\nGET')), 'other');
  });
});
