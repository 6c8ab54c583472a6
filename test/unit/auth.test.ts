// Access control, piece by piece: the hash schemes against htpasswd's own output
// and the specifications' vectors, the password-file rules, the return-value
// contracts of the scripts (every row of mod_wsgi's tables), the Authorization
// parsers, Digest nonces, the master's replay ledger and the verified cache.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { accessVerdict, checkPasswordVerdict, membershipVerdict, realmHashVerdict } from '../../src/auth/contracts.js';
import { isProblem, parseAuthParams, parseBasic, parseDigest } from '../../src/auth/credentials.js';
import { expectedResponse, NonceCodec } from '../../src/auth/digest.js';
import { parseHtdigest, parseHtpasswd, PasswordFileError } from '../../src/auth/password-file.js';
import { dummyEntry, hashKind } from '../../src/auth/password-checks.js';
import { verifyPassword } from '../../src/auth/password-hash.js';
import { parseShaCrypt, shaCrypt } from '../../src/auth/sha-crypt.js';
import { VerifiedCredentials } from '../../src/auth/verified-cache.js';
import { NonceLedger } from '../../src/master/auth-nonce-ledger.js';
import { underLocation } from '../../src/pipeline/authenticate.js';

function htpasswd(flag: string, user: string, password: string): string {
  return execFileSync('htpasswd', ['-nb' + flag, user, password], { encoding: 'utf8' }).trim();
}

async function verify(line: string, password: string): Promise<boolean> {
  const [user, entry] = [...parseHtpasswd(line)][0]!;
  assert.equal(user, line.split(':')[0]);
  return verifyPassword(entry, Buffer.from(password));
}

describe('htpasswd hash schemes', () => {
  for (const [flag, name] of [['B', 'bcrypt'], ['m', 'Apache MD5'], ['s', 'SHA-1'], ['2', 'SHA-256 crypt'], ['5', 'SHA-512 crypt']]) {
    it(`htpasswd -${flag} (${name}): the right password, a wrong one, one with ':' and non-ASCII`, async () => {
      for (const password of ['secret', 'p:ss:word', 'pässwörd ünïcode']) {
        const line = htpasswd(flag!, 'alice', password);
        assert.equal(await verify(line, password), true, `${line} should accept ${password}`);
        assert.equal(await verify(line, password + 'x'), false);
        assert.equal(await verify(line, ''), false);
      }
    });
  }

  it('bcrypt $2a$ and $2b$ entries as other tools write them', async () => {
    const line = htpasswd('B', 'alice', 'secret');
    assert.equal(await verify(line.replace('$2y$', '$2a$'), 'secret'), true);
    assert.equal(await verify(line.replace('$2y$', '$2b$'), 'secret'), true);
  });

  it('SHA-crypt: the specification\'s vectors (rounds, long salts, the minimum rounds)', () => {
    const cases: [string, string, string][] = [
      ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
      ['$6$saltstring', 'Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
      ['$5$rounds=10000$saltstringsaltstring', 'Hello world!', '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
      ['$6$rounds=10$roundstoolow', 'the minimum number is still observed', '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
    ];
    for (const [setting, password, expected] of cases) assert.equal(shaCrypt(Buffer.from(password), parseShaCrypt(setting)!), expected);
  });
});

describe('password files', () => {
  it('refuses plain-text and DES-crypt entries with their line numbers', () => {
    const good = htpasswd('B', 'alice', 'x');
    const plain = htpasswd('p', 'bob', 'secret');
    const des = htpasswd('d', 'carol', 'secret');
    const attempt = (text: string) => {
      try {
        parseHtpasswd(text);
        return undefined;
      } catch (err) {
        assert.ok(err instanceof PasswordFileError);
        return err.message;
      }
    };
    assert.match(attempt(`${good}\n\n# comment\n${plain}\n`)!, /^line 4: a plain-text password/);
    assert.match(attempt(`${good}\n${des}\n`)!, /^line 2: a DES-crypt hash/);
    assert.match(attempt('no-colon-here\n')!, /^line 1: not a `user:hash` line/);
    assert.equal(attempt(`${good}\r\n`), undefined, 'CRLF files are fine');
    assert.doesNotMatch(attempt(`${plain}\n`)!, /secret/, 'the message never shows the password');
  });

  it('htdigest lines: user, realm, hash; the first line for a user and realm wins', () => {
    const file = parseHtdigest('admin:trac:2aa0eebc7adb9f59c35661e120ad497d\nadmin:trac:00000000000000000000000000000000\nbob:other:2AA0EEBC7ADB9F59C35661E120AD497D\n');
    assert.equal(file.hashes.get('admin:trac'), '2aa0eebc7adb9f59c35661e120ad497d');
    assert.equal(file.hashes.get('bob:other'), '2aa0eebc7adb9f59c35661e120ad497d');
    assert.deepEqual([...file.realms], ['trac', 'other']);
    assert.throws(() => parseHtdigest('ok:r:2aa0eebc7adb9f59c35661e120ad497d\nadmin:trac:nothex\n'), /line 2: not a `user:realm:md5-hex` line/);
  });
});

describe('script return contracts (mod_wsgi §2.4-§2.6)', () => {
  it('checkPassword: true, false, null/undefined, a name, an empty string, anything else', () => {
    assert.deepEqual(checkPasswordVerdict(true, 'spy'), { kind: 'user', user: 'spy' });
    assert.deepEqual(checkPasswordVerdict(false, 'spy'), { kind: 'denied', reason: 'password mismatch' });
    assert.deepEqual(checkPasswordVerdict(null, 'spy'), { kind: 'denied', reason: 'user not found' });
    assert.deepEqual(checkPasswordVerdict(undefined, 'spy'), { kind: 'denied', reason: 'user not found' });
    assert.deepEqual(checkPasswordVerdict('grumpy', 'spy'), { kind: 'user', user: 'grumpy' });
    assert.equal(checkPasswordVerdict('', 'spy').kind, 'error');
    for (const odd of [1, 0, {}, [], 'x'.length, Symbol('s')]) assert.equal(checkPasswordVerdict(odd, 'spy').kind, 'error');
  });

  it('getRealmHash: hex MD5, null/undefined, and everything else (true and false included) is an error', () => {
    assert.deepEqual(realmHashVerdict('2AA0EEBC7ADB9F59C35661E120AD497D'), { kind: 'hash', ha1: '2aa0eebc7adb9f59c35661e120ad497d' });
    assert.equal(realmHashVerdict(null).kind, 'denied');
    assert.equal(realmHashVerdict(undefined).kind, 'denied');
    for (const odd of [true, false, '', 'secret', 'abc', 42]) assert.equal(realmHashVerdict(odd).kind, 'error', String(odd));
  });

  it('groupsForUser: only an iterable of strings holding the group admits; a string never does', () => {
    assert.deepEqual(membershipVerdict(['staff', 'tsgi'], 'tsgi'), { member: true });
    assert.deepEqual(membershipVerdict(new Set(['tsgi']), 'tsgi'), { member: true });
    assert.deepEqual(membershipVerdict((function* () { yield 'tsgi'; })(), 'tsgi'), { member: true });
    const denied = (value: unknown, group = 'tsgi') => {
      const m = membershipVerdict(value, group);
      assert.equal(m.member, false, `${String(value)} must not admit`);
      return m as { reason: string; broken: boolean };
    };
    assert.equal(denied([]).broken, false);
    assert.equal(denied(['staff']).broken, false);
    assert.equal(denied(['TSGI']).broken, false);
    assert.equal(denied('tsgi', 't').broken, true, 'a string is iterable but is refused');
    assert.equal(denied(null).broken, true);
    assert.equal(denied(undefined).broken, true);
    assert.equal(denied(42).broken, true);
    assert.equal(denied(['tsgi', 7]).broken, true, 'a non-string item denies even after the group');
    assert.equal(denied({ [Symbol.iterator]: () => { throw new Error('boom'); } }).broken, true);
  });

  it('allowAccess: true and null/undefined go on; false and anything else stop', () => {
    for (const ok of [true, null, undefined]) assert.deepEqual(accessVerdict(ok), { allow: true });
    assert.deepEqual(accessVerdict(false), { allow: false });
    for (const odd of [1, 0, 'yes', {}]) {
      const v = accessVerdict(odd);
      assert.equal(v.allow, false);
      assert.match((v as { rule: string }).rule, /must return true, false or null\/undefined/);
    }
  });
});

describe('Authorization parsing', () => {
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

  it('Basic: UTF-8, latin-1 fallback, ":" in passwords, strict base64', () => {
    const ok = parseBasic(b64('bob:p:a:ss'));
    assert.ok(!isProblem(ok));
    assert.equal(ok.user, 'bob');
    assert.equal(ok.passwordText, 'p:a:ss');
    const utf8 = parseBasic(b64('jürgen:grüß'));
    assert.ok(!isProblem(utf8));
    assert.equal(utf8.user, 'jürgen');
    const latin1 = parseBasic(b64(Buffer.from('j\xfcrgen:x', 'latin1')));
    assert.ok(!isProblem(latin1));
    assert.equal(latin1.user, 'jürgen');
    assert.ok(isProblem(parseBasic('!!!')));
    assert.ok(isProblem(parseBasic('')));
    assert.ok(isProblem(parseBasic(b64('no-colon'))));
    assert.ok(isProblem(parseBasic('a')), 'a lone base64 character');
  });

  it('auth-params: quoted strings with escapes, repeated or broken parameters are problems', () => {
    const p = parseAuthParams('a=1, b="x, \\"y\\"",c=tok');
    assert.ok(!isProblem(p));
    assert.deepEqual([...p], [['a', '1'], ['b', 'x, "y"'], ['c', 'tok']]);
    for (const bad of ['a=1, a=2', 'a="unterminated', 'a=', '=1', 'a=1 b=2', 'a']) assert.ok(isProblem(parseAuthParams(bad)), bad);
  });

  it('Digest: every required parameter, MD5 and qop=auth only, username* decoded', () => {
    const full = 'username="bob", realm="r", nonce="n", uri="/x", response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="c"';
    const ok = parseDigest(full);
    assert.ok(!isProblem(ok));
    assert.equal(ok.user, 'bob');
    for (const name of ['realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce']) {
      const without = full.split(', ').filter((p) => !p.startsWith(name + '=')).join(', ');
      assert.ok(isProblem(parseDigest(without)), `without ${name}`);
    }
    assert.ok(isProblem(parseDigest(full.replace('username="bob"', 'realm="r"'))), 'repeated realm');
    assert.ok(isProblem(parseDigest(full + ', algorithm=SHA-256')));
    assert.ok(isProblem(parseDigest(full.replace('qop=auth', 'qop=auth-int'))));
    assert.ok(isProblem(parseDigest(full.replace('nc=00000001', 'nc=1'))));
    const ext = parseDigest(full.replace('username="bob"', "username*=UTF-8''j%C3%BCrgen"));
    assert.ok(!isProblem(ext));
    assert.equal(ext.user, 'jürgen');
    assert.ok(isProblem(parseDigest(full + ", username*=UTF-8''x")), 'both username and username*');
  });

  it('--auth-location matches on segment boundaries', () => {
    assert.equal(underLocation('/trac/login', ['/trac/login']), true);
    assert.equal(underLocation('/trac/login/x', ['/trac/login']), true);
    assert.equal(underLocation('/trac/loginx', ['/trac/login']), false);
    assert.equal(underLocation('/trac', ['/trac/login']), false);
    assert.equal(underLocation('/anything', []), true);
    assert.equal(underLocation('/anything', ['/']), true);
  });
});

describe('Digest nonces and responses', () => {
  const key = Buffer.alloc(32, 7);

  it('verifies in another codec with the same key, not with another key or realm; expires as stale', () => {
    const a = new NonceCodec(key, 'r', 1000);
    const nonce = a.make(1_000_000);
    assert.deepEqual(new NonceCodec(key, 'r', 1000).check(nonce, 1_000_500), { kind: 'fresh', issuedAt: 1_000_000 });
    assert.deepEqual(a.check(nonce, 1_002_000), { kind: 'stale', issuedAt: 1_000_000 });
    assert.equal(new NonceCodec(Buffer.alloc(32, 8), 'r', 1000).check(nonce, 1_000_500).kind, 'invalid');
    assert.equal(new NonceCodec(key, 'other', 1000).check(nonce, 1_000_500).kind, 'invalid');
    const tampered = (nonce[0] === 'A' ? 'B' : 'A') + nonce.slice(1);
    assert.equal(a.check(tampered, 1_000_500).kind, 'invalid');
    assert.equal(a.check('short', 1_000_500).kind, 'invalid');
    assert.equal(a.check(nonce, 990_000).kind, 'invalid', 'issued in the future');
  });

  it('the response of RFC 2617 3.5 (the same computation with qop=auth)', () => {
    const ha1 = '939e7578ed9e3c518a452acee763bce9'; // MD5("Mufasa:testrealm@host.com:Circle Of Life")
    assert.equal(
      expectedResponse(ha1, 'GET', '/dir/index.html', 'dcd98b7102dd2f0e8b11d0f600bfb0c093', '00000001', '0a4f113b'),
      '6629fae49393a05397450978507c4ef1',
    );
  });

  it('the ledger accepts each (nonce, nc) once, sweeps expired nonces, and stays bounded without allowing replays', () => {
    const ledger = new NonceLedger(1000, 3, 2);
    assert.equal(ledger.claim('n1', '00000001', 100, 200), 'fresh');
    assert.equal(ledger.claim('n1', '00000001', 100, 201), 'replayed');
    assert.equal(ledger.claim('n1', '00000002', 100, 202), 'fresh');
    assert.equal(ledger.claim('n1', '00000003', 100, 203), 'stale', 'past MAX_COUNTS answers the nonce is used up');
    assert.equal(ledger.claim('n2', '00000001', 110, 210), 'fresh');
    assert.equal(ledger.claim('n3', '00000001', 120, 220), 'fresh');
    assert.equal(ledger.claim('n4', '00000001', 130, 230), 'fresh', 'the oldest entry (n1) was dropped');
    assert.equal(ledger.size, 3);
    assert.equal(ledger.claim('n1', '00000001', 100, 240), 'stale', 'a dropped nonce is stale, never replayable');
    assert.equal(ledger.claim('n2', '00000001', 110, 100_000), 'stale', 'expired');
    assert.equal(ledger.size, 0, 'expired entries are swept');
  });
});

describe('verified-credentials cache', () => {
  it('hits only for the same user and password, expires, is bounded and can be emptied', async () => {
    const cache = new VerifiedCredentials(2, 50);
    cache.add('a', Buffer.from('pw'));
    assert.equal(cache.has('a', Buffer.from('pw')), true);
    assert.equal(cache.has('a', Buffer.from('pw2')), false);
    assert.equal(cache.has('b', Buffer.from('pw')), false);
    cache.add('a\0', Buffer.from('b'));
    assert.equal(cache.has('a', Buffer.from('\0b')), false, 'another split of the same bytes');
    cache.add('b', Buffer.from('1'));
    cache.add('c', Buffer.from('1'));
    assert.equal(cache.size, 2);
    assert.equal(cache.has('a', Buffer.from('pw')), false, 'the oldest went');
    cache.clear();
    assert.equal(cache.has('b', Buffer.from('1')), false);
    cache.add('d', Buffer.from('1'));
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(cache.has('d', Buffer.from('1')), false, 'expired');
  });
});

describe('password checks: the dummy entry for unknown users', () => {
  it('has the kind and cost most entries have, and accepts no password, not even the one its model had', async () => {
    const file = [htpasswd('m', 'carol', 'pw'), htpasswd('B', 'alice', 'pw'), htpasswd('B', 'bob', 'pw'), htpasswd('s', 'dan', 'pw')].join('\n');
    const users = parseHtpasswd(file);
    const dummy = dummyEntry(users)!;
    assert.equal(dummy.scheme, 'bcrypt');
    assert.equal(hashKind(dummy.hash), hashKind(users.get('alice')!.hash));
    assert.equal(dummy.hash.length, users.get('alice')!.hash.length);
    assert.equal(await verifyPassword(dummy, Buffer.from('pw')), false);
    for (const flag of ['m', 's', '2', '5']) {
      const one = dummyEntry(parseHtpasswd(htpasswd(flag, 'x', 'pw')))!;
      assert.equal(await verifyPassword(one, Buffer.from('pw')), false, flag);
      assert.match(one.hash, flag === 's' ? /^\{SHA\}[A-Za-z0-9+/]{27}=$/ : /^\$/);
    }
    assert.equal(dummyEntry(new Map()), undefined);
  });

  it('hashKind: the kind and cost', () => {
    assert.equal(hashKind('$2y$10$abcdefghijklmnopqrstuv0123456789012345678901234567890'), '$2y$10$');
    assert.equal(hashKind('$6$rounds=20000$salt$x'), '$6$rounds=20000$');
    assert.equal(hashKind('$5$salt$x'), '$5$');
    assert.equal(hashKind('$apr1$salt$x'), '$apr1$');
    assert.equal(hashKind('{SHA}abc='), '{SHA}');
  });
});
