/**
 * The worker's watchdog thread (--deadlock-timeout). It runs beside the worker's
 * main thread and does nothing until the master, whose heartbeat the main thread
 * has stopped answering, writes `stack` on the watchdog channel (an extra pipe,
 * fd 4). Then it connects the inspector to the main thread, pauses it (V8
 * interrupts even a `while (true)` loop), and writes back where its JavaScript
 * is, source-mapped to the app's own files, as one JSON line. The master logs
 * it and kills the worker. Node's --report-on-signal cannot do this: it runs on
 * the event loop, which a spinning worker never returns to.
 *
 * Started once the worker is ready (off the start-up path), it loads only
 * node's own modules.
 */
import { Session } from 'node:inspector';
import { SourceMap } from 'node:module';
import net from 'node:net';
import { workerData } from 'node:worker_threads';

interface Frame {
  functionName: string;
  url: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

interface Script {
  url: string;
  sourceMapURL?: string;
}

const MAX_FRAMES = 30;

function sourceMapOf(script: Script | undefined): SourceMap | undefined {
  const url = script?.sourceMapURL;
  if (!url?.startsWith('data:')) return undefined;
  try {
    const comma = url.indexOf(',');
    const meta = url.slice(0, comma);
    const data = url.slice(comma + 1);
    const text = meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
    return new SourceMap(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function formatFrame(frame: Frame, scripts: Map<string, Script>, maps: Map<string, SourceMap | undefined>): string {
  const { scriptId, lineNumber, columnNumber } = frame.location;
  const script = scripts.get(scriptId);
  if (!maps.has(scriptId)) maps.set(scriptId, sourceMapOf(script));
  const map = maps.get(scriptId);
  let where = `${frame.url || script?.url || '<unknown>'}:${lineNumber + 1}:${columnNumber + 1}`;
  const entry = map?.findEntry(lineNumber, columnNumber) as
    | { originalSource?: string; originalLine?: number; originalColumn?: number }
    | undefined;
  if (entry?.originalSource) where = `${entry.originalSource}:${entry.originalLine! + 1}:${entry.originalColumn! + 1}`;
  const file = where.startsWith('file://') ? decodeURIComponent(where.slice(7)) : where;
  return `    at ${frame.functionName || '<anonymous>'} (${file})`;
}

/** Pauses the main thread and returns its stack as text. */
function mainThreadStack(): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = new Session();
    session.connectToMainThread();
    const scripts = new Map<string, Script>();
    session.on('Debugger.scriptParsed', (m: { params: Script & { scriptId: string } }) => scripts.set(m.params.scriptId, m.params));
    session.once('Debugger.paused', (m: { params: { callFrames: Frame[] } }) => {
      const maps = new Map<string, SourceMap | undefined>();
      const frames = m.params.callFrames.slice(0, MAX_FRAMES).map((f) => formatFrame(f, scripts, maps));
      const more = m.params.callFrames.length - frames.length;
      if (more > 0) frames.push(`    ... ${more} more`);
      resolve(frames.join('\n'));
      // The master kills the process next; resuming lets it die wherever it was.
      session.post('Debugger.resume', () => session.disconnect());
    });
    session.post('Debugger.enable', (err) => {
      if (err) return reject(err);
      session.post('Debugger.pause', (pauseErr) => pauseErr && reject(pauseErr));
    });
  });
}

// Keeps this thread's event loop alive; the main thread unrefs the thread, so it never keeps the worker alive.
const channel = new net.Socket({ fd: (workerData as { fd: number }).fd, readable: true, writable: true });
channel.setEncoding('utf8');
let buffered = '';
channel.on('data', (chunk: string) => {
  buffered += chunk;
  if (!buffered.includes('\n')) return;
  buffered = '';
  mainThreadStack().then(
    (stack) => channel.write(JSON.stringify({ stack }) + '\n'),
    (err: Error) => channel.write(JSON.stringify({ error: err.message }) + '\n'),
  );
});
channel.on('error', () => {}); // the master went away: the worker exits with its IPC channel
