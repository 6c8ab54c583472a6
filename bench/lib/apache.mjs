// Apache with mod_wsgi, configured the way `mod_wsgi-express start-server --processes N
// --max-clients 50` configures it (its server.py): daemon mode, N processes of 5 threads
// with the app preloaded, the event MPM in front, keep-alive unlimited, no access log.
// --max-clients 50 sizes the front end for the bench's 50 connections; with the default
// (sized from N x 5 threads: 36 for N = 2) Apache logs "server reached MaxRequestWorkers"
// and drops some connections, which would measure the front end's size, not the server.
// Run in the foreground from a config written per port.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const MODULES = '/usr/lib/apache2/modules';
const THREADS = 5; // mod_wsgi-express --threads default
const MAX_CLIENTS = 50; // the most connections a bench scenario opens

/** Debian's apache2 with the modules the config loads, or undefined. */
export function apacheBinary(which) {
  const bin = which('apache2');
  const modules = ['mod_wsgi.so', 'mod_mpm_event.so', 'mod_authn_core.so', 'mod_authz_core.so'];
  return bin && modules.every((m) => existsSync(join(MODULES, m))) ? bin : undefined;
}

/** Front-end capacity as mod_wsgi-express derives it for the event MPM with --max-clients. */
function eventMpm(processes) {
  const mc = Math.max(MAX_CLIENTS, processes * THREADS);
  const perChild = mc > 20 ? Math.floor(mc / (Math.floor(mc / 20) + 1)) : 10;
  const serverLimit = Math.ceil(mc / perChild);
  return { perChild, serverLimit, maxWorkers: serverLimit * perChild };
}

function config({ port, processes, script, dir }) {
  const mpm = eventMpm(processes);
  // Apache started as root serves as www-data; the daemons' socket directory and the
  // script must then be reachable by that user.
  const user = process.getuid?.() === 0 ? 'User www-data\nGroup www-data\n' : '';
  return `ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${dir}/httpd.pid"
DefaultRuntimeDir "${dir}"
ErrorLog /dev/stderr
LogLevel notice
${user}LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule wsgi_module ${MODULES}/mod_wsgi.so
<Location />
  Require all granted
</Location>
StartServers ${mpm.serverLimit}
ServerLimit ${mpm.serverLimit}
ThreadLimit ${mpm.perChild}
ThreadsPerChild ${mpm.perChild}
MaxRequestWorkers ${mpm.maxWorkers}
MinSpareThreads ${mpm.perChild}
MaxSpareThreads ${mpm.maxWorkers}
KeepAlive On
MaxKeepAliveRequests 0
WSGISocketPrefix "${dir}/wsgi"
WSGIDaemonProcess hello processes=${processes} threads=${THREADS} display-name=%{GROUP}
WSGIProcessGroup hello
WSGIApplicationGroup %{GLOBAL}
WSGIImportScript "${script}" process-group=hello application-group=%{GLOBAL}
WSGIScriptAlias / "${script}"
`;
}

/** The harness's command for a port: writes the config, runs Apache in the foreground. */
export function apacheCommand(bin, { processes, script }) {
  return (port) => {
    const dir = mkdtempSync(join(os.tmpdir(), 'tsgi-bench-apache-'));
    chmodSync(dir, 0o755); // the www-data daemons reach their sockets through it
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'httpd.conf');
    writeFileSync(file, config({ port, processes, script, dir }));
    return { cmd: bin, args: ['-f', file, '-DFOREGROUND'] };
  };
}
