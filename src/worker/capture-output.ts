/**
 * Routes the worker's stdout/stderr (console.log, process.stdout.write) to the
 * master as log records tagged with the request id, instead of letting each
 * worker write to the terminal on its own. Whole lines only: a partial line waits
 * for its end (or the next flush).
 */
import type { LogBatcher } from './log-batcher.js';
import { currentRequestId, trackRequests } from './request-scope.js';

type WriteFn = typeof process.stdout.write;

const MAX_PARTIAL = 64 * 1024;

function capture(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr', batcher: LogBatcher): void {
  let partial = '';
  const write = function (chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    const callback = typeof encoding === 'function' ? encoding : cb;
    trackRequests();
    const all = partial + text;
    const end = all.lastIndexOf('\n');
    if (end < 0) {
      partial = all;
      if (partial.length > MAX_PARTIAL) {
        batcher.output(name, partial, currentRequestId());
        partial = '';
      }
    } else {
      partial = all.slice(end + 1);
      batcher.output(name, all.slice(0, end), currentRequestId());
    }
    if (typeof callback === 'function') process.nextTick(callback as () => void);
    return true;
  };
  stream.write = write as WriteFn;
}

export function captureOutput(batcher: LogBatcher): void {
  capture(process.stdout, 'stdout', batcher);
  capture(process.stderr, 'stderr', batcher);
}
