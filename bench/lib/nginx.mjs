// Debian's nginx serving the static scenarios' directory with the same number of
// worker processes as the others: sendfile on, keep-alive unlimited, no access log,
// run in the foreground from a config written per port.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export function nginxBinary(which) {
  return which('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
}

function config({ port, processes, root, dir }) {
  // As root nginx would switch its workers to a user that may not read the harness's files.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes ${processes};
daemon off;
pid ${dir}/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
}

/** The harness's command for a port: writes the config, runs nginx in the foreground. */
export function nginxCommand(bin, { processes, root }) {
  return (port) => {
    const dir = mkdtempSync(join(os.tmpdir(), 'tsgi-bench-nginx-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, config({ port, processes, root: root(), dir }));
    return { cmd: bin, args: ['-p', dir, '-c', file] };
  };
}
