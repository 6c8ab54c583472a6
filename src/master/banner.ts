/**
 * The start-up banner, laid out like mod_wsgi-express's (labels padded to 19
 * columns), printed once every worker is ready.
 */
import path from 'node:path';
import { listenerSpecs, listenerUrl } from '../config/listeners.js';
import type { Config } from '../config/schema.js';
import { pidFilePath } from '../config/server-root.js';
import { debugDirectory } from '../config/debug-paths.js';
import { devtoolsUrl } from '../debug/urls.js';
import { logBannerRows } from './log-setup.js';
import type { DevelopmentCertificate } from './tls-dev-certificate.js';

/** Every listener's URL, plain HTTP first. */
export function serverUrls(config: Config): string[] {
  return listenerSpecs(config).map((spec) => listenerUrl(config.serverHost, spec));
}

/** The banner's lines about a generated certificate: what it is, and how to trust it. */
function developmentCertificateRows(dev: DevelopmentCertificate): [string, string][] {
  return [
    ['TLS Certificate', `${dev.certFile} (development certificate, self-signed, for ${dev.names.join(' ')})`],
    ['TLS Fingerprint', `SHA-256 ${dev.fingerprint}`],
    ['Trust It With', `curl --cacert ${dev.certFile}, or add it to your browser's trusted certificates`],
  ];
}

function reloading(config: Config): string {
  if (config.disableReloading) return 'off';
  return config.reloadOnChanges ? 'all modules' : 'script';
}

/** `200 (2 processes * 100 threads)`: the banner's line, and the log's after SIGTTIN/SIGTTOU. */
export function capacity(config: Config, p = config.processes): string {
  const t = config.threads;
  const text = `${p * t} (${p} process${p === 1 ? '' : 'es'} * ${t} thread${t === 1 ? '' : 's'})`;
  return config.debugMode ? `${text}; debug mode overrides --processes and --threads` : text;
}

/** The server's own pages (status, metrics, health check), as banner rows. */
function monitoringRows(config: Config): [string, string][] {
  const base = serverUrls(config)[0]!.replace(/\/$/, '');
  const rows: [string, string][] = [];
  if (config.serverStatus) rows.push(['Server Status', `${base}/server-status`]);
  if (config.metricsPath) rows.push(['Metrics URL', `${base}${config.metricsPath}`]);
  if (config.metricsPort !== undefined) rows.push(['Metrics URL', `${serverUrls({ ...config, port: config.metricsPort })[0]!}metrics`]);
  if (config.healthCheckPath) rows.push(['Health Check', `${base}${config.healthCheckPath}`]);
  return rows;
}

/** The debugging tools' rows (docs/debugging.md): where to attach, where their files go. */
function debugRows(config: Config, inspector: string | undefined): [string, string][] {
  const rows: [string, string][] = [];
  if (config.enableDebugger) {
    const where = `127.0.0.1:${config.debuggerPort}`;
    rows.push(['Debugger', inspector ?? `${where} (not open yet)`]);
    if (inspector) rows.push(['DevTools URL', devtoolsUrl(inspector)]);
  }
  if (config.enableProfiler) rows.push(['CPU Profiles', `${debugDirectory(config, 'profiler')} (at stop; SIGUSR2 writes one now)`]);
  if (config.enableCoverage) rows.push(['Coverage Report', path.join(debugDirectory(config, 'coverage'), 'index.html')]);
  if (config.enableRecorder) rows.push(['Recorder Output', debugDirectory(config, 'recorder')]);
  return rows;
}

/** A process group as the banner shows it: its apps (indexes into Config.apps), their interfaces, its workers' Config. */
export interface BannerGroup {
  readonly name: string;
  readonly apps: readonly number[];
  readonly kinds: readonly string[];
  readonly config: Config;
  /** Who its workers run as, when its `apps` entry names its own user or Unix group (started as root). */
  readonly user?: string;
}

/**
 * With --mount-app, one row per further application: its mount, script,
 * interface, and the process group it runs in with that group's capacity (the
 * main application's group is the Request Capacity row).
 */
function appRows(config: Config, appKinds: readonly string[] = [], groups: readonly BannerGroup[] = []): [string, string][] {
  return config.apps.map((app, i) => {
    const group = groups.find((g) => g.apps.includes(i));
    if (group !== undefined) {
      const kind = group.kinds[group.apps.indexOf(i)] ?? app.interface;
      return ['Application', `${app.mount} -> ${app.scriptPath} (${kind}; process group ${group.name}: ${capacity(group.config)}${group.user ? `; runs as ${group.user}` : ''})`];
    }
    const where = config.debugMode ? 'in the one debug process, its own module' : groups.length > 0 ? 'in the main process group' : 'in the same workers';
    return ['Application', `${app.mount} -> ${app.scriptPath} (${appKinds[i] ?? app.interface}; ${where})`];
  });
}

/** `workerUser`: the `Worker User` line, shown when the master runs as root (--user). */
export function banner(
  config: Config,
  interfaceKind: string,
  inspector?: string,
  workerUser?: string,
  dev?: DevelopmentCertificate,
  appKinds?: readonly string[],
  groups?: readonly BannerGroup[],
): string {
  const [url, httpsUrl] = serverUrls(config);
  const rows: [string, string][] = [
    ['Server URL', url!],
    ...(httpsUrl === undefined ? [] : [['Server URL (HTTPS)', httpsUrl] as [string, string]]),
    ...(dev === undefined ? [] : developmentCertificateRows(dev)),
    ['Server Root', config.serverRoot],
    ['Application', `${config.scriptPath} (${interfaceKind})`],
    ['Mount Point', config.mountPoint],
    ...appRows(config, appKinds, groups),
    ...config.mountAppMatch.map(([regex, template]): [string, string] => ['Pattern Mount', `${regex} -> ${template} (each site started on demand in a process group of its own: ${capacity(config, config.matchProcesses)}; at most ${config.maxMatchApps})`]),
    ['Operating Mode', config.debugMode ? 'debug' : 'daemon'],
    ['Request Capacity', groups?.length ? `${capacity(config)} for the main application's process group` : capacity(config)],
    ...(workerUser ? [['Worker User', workerUser] as [string, string]] : []),
    ['Reloading', reloading(config)],
    ...logBannerRows(config),
    ['PID File', pidFilePath(config)],
    ...debugRows(config, inspector),
    ...monitoringRows(config),
  ];
  return rows.map(([label, value]) => `${label.padEnd(19)}: ${value}`).join('\n') + '\n';
}
