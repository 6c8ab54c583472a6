// --trust-proxy blocks: parsing, and matching IPv4, IPv6 (partial groups, zones,
// embedded IPv4) and IPv4-mapped peers, against blocks of every prefix length.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProxyBlock, TrustedProxies } from '../../src/net/trusted-proxies.js';

describe('--trust-proxy blocks', () => {
  it('parses addresses and CIDR blocks, and refuses the rest', () => {
    assert.deepEqual(parseProxyBlock('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseProxyBlock('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', '::/129', 'proxy.internal', '10.0.0/8', '10.0.0.0/', '10.0.0.0/-1', '1.2.3.4/08x']) {
      assert.equal(parseProxyBlock(bad), undefined, bad);
    }
  });

  it('matches peers against the blocks', () => {
    const list = new TrustedProxies(['10.0.0.0/8', '192.168.1.128/25', '2001:db8:8000::/33', 'fe80::1', '172.16.0.0/12', '::ffff:0:0:0/128']);
    const cases: [string, boolean][] = [
      ['10.1.2.3', true], ['11.0.0.1', false], ['192.168.1.200', true], ['192.168.1.100', false],
      ['2001:db8:7fff::1', false], ['2001:db8:ffff::1', true], ['2001:db8:8000::1', true], ['2001:db9::', false],
      ['fe80::1', true], ['fe80::2', false], ['fe80::1%eth0', true], ['::ffff:10.0.0.1', true],
      ['172.31.255.255', true], ['172.32.0.0', false], ['junk', false], ['', false],
    ];
    for (const [address, expected] of cases) assert.equal(list.listed(address), expected, address);
    assert.equal(new TrustedProxies(['0.0.0.0/0']).listed('203.0.113.5'), true);
    assert.equal(new TrustedProxies(['::/0']).listed('2001:db8::1'), true);
    assert.equal(new TrustedProxies(['::/0']).listed('203.0.113.5'), false);
  });

  it('believes every peer when no block is given, as mod_wsgi does', () => {
    assert.equal(new TrustedProxies([]).trusts('203.0.113.5'), true);
    assert.equal(new TrustedProxies(['127.0.0.1']).trusts(undefined), false);
  });
});
