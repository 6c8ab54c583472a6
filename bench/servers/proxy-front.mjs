// A reverse proxy in front of the bare cluster: the upstream (bench/servers/bare-cluster.mjs)
// on a port of its own, then PROXY=tsgi (tsgi-express --proxy-mount-point / UPSTREAM) or
// PROXY=nginx (nginx's proxy_pass, keep-alive to the upstream) on PORT. Prints the
// Ready line once both serve. Everything runs in this process's group.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const port = Number(process.env.PORT);
const host = process.env.HOST ?? '127.0.0.1';
const processes = Number(process.env.PROCESSES ?? 2);

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function waitForLine(child, re) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (re.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before ${re}: ${out}`)));
  });
}

async function waitForPort(p) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(p, host, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${p}`);
}

const upPort = await freePort();
const upstream = spawn(process.execPath, [join(ROOT, 'bench/servers/bare-cluster.mjs')], {
  env: { ...process.env, PORT: String(upPort), HOST: host, PROCESSES: String(processes) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await waitForLine(upstream, /Ready: /);

if (process.env.PROXY === 'nginx') {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-nginx-'));
  writeFileSync(join(dir, 'nginx.conf'), `
worker_processes ${processes};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  upstream app { server ${host}:${upPort}; keepalive 64; }
  server {
    listen ${host}:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`);
  spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'inherit' });
  await waitForPort(port);
  process.stdout.write(`Ready: nginx (${processes} workers) proxying http://${host}:${port}/ to ${upPort}\n`);
} else {
  const front = spawn(process.execPath, [
    join(ROOT, 'bin/tsgi-express'), 'start-server', join(ROOT, 'bench/apps/hello.ts'),
    '--host', host, '--port', String(port), '--processes', String(processes),
    '--proxy-mount-point', '/', `http://${host}:${upPort}/`,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitForLine(front, /Ready: /);
  front.stdout.pipe(process.stdout);
  process.stdout.write(`Ready: tsgi-express proxying http://${host}:${port}/ to ${upPort}\n`);
}
process.on('SIGTERM', () => process.exit(0));
