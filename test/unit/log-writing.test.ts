import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ErrorRecord } from '../../src/ipc/messages.js';
import { compileErrorLogFormat, DEFAULT_ERROR_LOG_FORMAT, ErrorLogFormatError } from '../../src/logging/error-format.js';
import { LogDestination, QUEUE_LIMIT, type LogTarget } from '../../src/master/log-destination.js';
import { rotatedNameGenerator } from '../../src/master/log-file.js';
import { LogBatcher, QUEUE_LIMIT as WORKER_QUEUE, WINDOW } from '../../src/worker/log-batcher.js';
import type { LogMessage } from '../../src/ipc/messages.js';

const T = new Date(2026, 10, 21, 12, 8, 16, 395).getTime();

describe('ErrorLogFormat', () => {
  const rec = (over: Partial<Record<number, unknown>> = {}): ErrorRecord => {
    const r: ErrorRecord = [T, 'error', 'an9-4', 'kaboom'];
    for (const [k, v] of Object.entries(over)) (r as unknown[])[Number(k)] = v;
    return r;
  };

  it('the default is the Apache-like line, the rid field left out when there is none', () => {
    const f = compileErrorLogFormat(DEFAULT_ERROR_LOG_FORMAT);
    assert.equal(f(rec(), 42), '[Sat Nov 21 12:08:16.395000 2026] [tsgi:error] [pid 42] [rid an9-4] kaboom\n');
    assert.equal(f(rec({ 2: '' }), 42), '[Sat Nov 21 12:08:16.395000 2026] [tsgi:error] [pid 42] kaboom\n');
    assert.equal(f(rec({ 1: 'stdout' }), 42), '[Sat Nov 21 12:08:16.395000 2026] [app:stdout] [pid 42] [rid an9-4] kaboom\n');
  });

  it('every line of a multi-line message gets the whole prefix', () => {
    const f = compileErrorLogFormat('%l: %M');
    assert.equal(f(rec({ 3: 'a\nb\n' }), 1), 'error: a\nerror: b\n');
  });

  it('times, modifiers and the field delimiter', () => {
    assert.equal(compileErrorLogFormat('%t|%{c}t|%{cu}t')(rec(), 1), 'Sat Nov 21 12:08:16 2026|2026-11-21 12:08:16|2026-11-21 12:08:16.395000\n');
    assert.equal(compileErrorLogFormat('[%-a] %M')(rec(), 1), '[-] kaboom\n');
    assert.equal(compileErrorLogFormat('[client\\ %a] %M')(rec(), 1), 'kaboom\n');
    assert.equal(compileErrorLogFormat('[client\\ %a] %M')(rec({ 4: '10.0.0.1:5' }), 1), '[client 10.0.0.1:5] kaboom\n');
    assert.equal(compileErrorLogFormat('%M% ,\\ at\\ %F')(rec(), 1), 'kaboom\n');
    assert.equal(compileErrorLogFormat('%M% ,\\ at\\ %F')(rec({ 4: '', 5: 'a.ts:3' }), 1), 'kaboom, at a.ts:3\n');
    // %7F: only for debug-level messages.
    assert.equal(compileErrorLogFormat('%7F %M')(rec({ 4: '', 5: 'a.ts:3' }), 1), 'kaboom\n');
    assert.equal(compileErrorLogFormat('%7F %M')(rec({ 1: 'debug', 4: '', 5: 'a.ts:3' }), 1), 'a.ts:3 kaboom\n');
    assert.equal(compileErrorLogFormat('%P:%T %m %% %L')(rec(), 7), '7:7 tsgi % an9-4\n');
  });

  it('refuses what it cannot log, naming it', () => {
    for (const [format, re] of [['%Z', /%Z is not a directive/], ['%{x}t', /%\{x\}t/], ['%+M', /\+ modifier/], ['%{u', /unclosed/], ['%', /unfinished/]] as const) {
      assert.throws(() => compileErrorLogFormat(format), (err: Error) => err instanceof ErrorLogFormatError && re.test(err.message));
    }
  });
});

describe('rotated file names', () => {
  it('as rotatelogs names them, in UTC; an index and .gz when needed', () => {
    const g = rotatedNameGenerator('error_log', false);
    const d = new Date(Date.UTC(2026, 11, 7, 1, 30, 0));
    assert.equal(g(null as unknown as Date), 'error_log');
    assert.equal(g(d, 1), 'error_log.2026-12-07-01_30_00');
    assert.equal(g(d, 2), 'error_log.2026-12-07-01_30_00.2');
    assert.equal(rotatedNameGenerator('access_log', true)(d, 1), 'access_log.2026-12-07-01_30_00.gz');
  });
});

/** A target that records writes and fails as told. */
class FakeTarget implements LogTarget {
  readonly written: string[] = [];
  fail: Error | undefined;
  landed = false;
  hold = false;
  private held: (() => void) | undefined;
  constructor(readonly retries: boolean, readonly name = 'fake') {}
  write(chunk: string, done: (err: Error | null, landed?: boolean) => void): void {
    const finish = () => {
      if (this.fail) return done(this.fail, this.landed);
      this.written.push(chunk);
      done(null);
    };
    if (this.hold) this.held = finish;
    else setImmediate(finish);
  }
  release(): void {
    const f = this.held;
    this.held = undefined;
    f?.();
  }
  reopen(done: () => void): void {
    done();
  }
  close(done: () => void): void {
    done();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('LogDestination', () => {
  it('drops and counts beyond its bound, and reports the count once a write succeeds', async () => {
    const target = new FakeTarget(true);
    target.hold = true;
    const resumed: number[] = [];
    const dest = new LogDestination(target, { onFailed: () => {}, onResumed: (_d, n) => resumed.push(n) });
    const line = 'x'.repeat(1023) + '\n';
    for (let i = 0; i < QUEUE_LIMIT / 1024 + 10; i++) dest.write(line, 1);
    target.hold = false;
    target.release();
    await tick();
    assert.equal(resumed[0], 10);
  });

  it('a failed file write that did not land is written again, whole, before anything newer', async () => {
    const target = new FakeTarget(true);
    const failed: string[] = [];
    const resumed: [number, string | undefined][] = [];
    const dest = new LogDestination(target, {
      onFailed: (_d, e) => failed.push(e.message),
      onResumed: (_d, n, outage) => resumed.push([n, outage?.message]),
    });
    target.fail = new Error('ENOSPC');
    dest.write('a\n', 1);
    await tick();
    dest.write('b\n', 1);
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(failed, ['ENOSPC'], 'reported once, after the immediate retry failed too');
    target.fail = undefined;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(target.written.join(''), 'a\nb\n');
    assert.deepEqual(resumed, [[0, 'ENOSPC']]);
  });

  it('a terminal that fails is dead: reported once, everything after dropped and counted, waiters released', async () => {
    const target = new FakeTarget(false);
    const failed: string[] = [];
    const dest = new LogDestination(target, { onFailed: (_d, e) => failed.push(e.message), onResumed: () => {} });
    target.fail = Object.assign(new Error('EPIPE'), { code: 'EPIPE' });
    let acked = 0;
    dest.write('a\n', 1, () => acked++);
    await tick();
    dest.write('b\nc\n', 2, () => acked++);
    assert.equal(failed.length, 1);
    assert.ok(dest.isDead);
    assert.equal(dest.droppedTotal, 3);
    assert.equal(acked, 2);
  });
});

describe('LogBatcher', () => {
  it('sends at most a window ahead of the acks, then drops and counts, and sends the count', () => {
    const sent: LogMessage[] = [];
    const batcher = new LogBatcher((m) => sent.push(m), 'info');
    const line = 'y'.repeat(1000);
    const n = Math.ceil((WINDOW + WORKER_QUEUE) / 1000) + 100;
    for (let i = 0; i < n; i++) batcher.output('stdout', line, undefined);
    const inFlight = sent.reduce((s, m) => s + m.size, 0);
    assert.ok(inFlight >= WINDOW && inFlight < WINDOW + 128 * 1024, `in flight ${inFlight}`);
    const before = sent.length;
    batcher.acked(inFlight);
    batcher.flush();
    const after = sent.slice(before);
    const dropped = after.find((m) => m.dropped)?.dropped;
    assert.ok(dropped && dropped[0] > 0 && dropped[1] === 0, JSON.stringify(dropped));
    const total = sent.reduce((s, m) => s + m.errors.length, 0) + dropped[0];
    assert.equal(total, n);
  });
});
