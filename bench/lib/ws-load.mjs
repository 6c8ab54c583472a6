// WebSocket echo load: CONNECTIONS clients, each sending a 16-byte message and
// waiting for its echo, over and over, for SECONDS. A separate process, as wrk is.
// Prints one line: WSJSON {"requests", "duration_us", "p50_us", "p99_us", "errors"}.
import WebSocket from 'ws';

const [url, connections, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const MESSAGE = Buffer.alloc(16, 'x');
const latencies = [];
let requests = 0;
let errors = 0;
let running = true;

async function client() {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }).catch(() => errors++);
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.on('error', () => errors++);
  while (running && ws.readyState === WebSocket.OPEN) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => {
      ws.once('message', resolve);
      ws.once('close', resolve);
      ws.send(MESSAGE);
    });
    requests++;
    if (latencies.length < 200_000) latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  ws.close();
}

const started = process.hrtime.bigint();
setTimeout(() => (running = false), seconds * 1000);
await Promise.all(Array.from({ length: connections }, client));
const durationUs = Number(process.hrtime.bigint() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(`WSJSON ${JSON.stringify({ requests, duration_us: durationUs, p50_us: at(0.5), p99_us: at(0.99), errors })}\n`);
process.exit(0);
