/**
 * The status, metrics and health-check options checked together: paths the
 * server answers itself must not be where the application is mounted (it could
 * never be reached there), must differ from one another, and options that need
 * another one say so. Each failure is a UsageError naming the flags.
 */
import { UsageError } from '../errors.js';

/** mod_wsgi-express's `<Location /server-status>`: at the root of the site, whatever the mount point. */
export const SERVER_STATUS_PATH = '/server-status';

/** Whether `mount` is `path` or below it: the whole application would sit behind the server's own page. */
function mountUnder(mount: string, path: string): boolean {
  const m = mount.replace(/\/+$/, '') || '/';
  return m === path || m.startsWith(path.endsWith('/') ? path : path + '/');
}

export function checkMonitoringOptions(v: Record<string, unknown>, mountPoint: string): void {
  const paths: [flag: string, path: string][] = [];
  if (v.serverStatus === true) paths.push(['--server-status', SERVER_STATUS_PATH]);
  if (typeof v.metricsPath === 'string') paths.push(['--metrics-path', v.metricsPath]);
  if (typeof v.healthCheckPath === 'string') paths.push(['--health-check-path', v.healthCheckPath]);
  for (const [flag, path] of paths) {
    if (mountUnder(mountPoint, path)) {
      throw new UsageError(
        `--mount-point ${mountPoint} clashes with ${flag}: the server answers ${path} itself, so the application mounted there could never be reached; mount it elsewhere`,
      );
    }
  }
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      if (paths[i]![1] === paths[j]![1]) throw new UsageError(`${paths[j]![0]} ${paths[j]![1]} is the path of ${paths[i]![0]} already: give another`);
    }
  }
  if (v.metricsPort !== undefined && v.metricsPath !== undefined) {
    throw new UsageError('--metrics-port and --metrics-path are two places for the same metrics: give one');
  }
  if (v.metricsPort !== undefined && v.metricsPort !== 0 && v.metricsPort === v.port) {
    throw new UsageError(`--metrics-port ${String(v.metricsPort)} is the --port already: the metrics listener needs a port of its own`);
  }
  if ((v.serverStatusAllow as string[] | undefined)?.length && v.serverStatus !== true && v.metricsPath === undefined) {
    throw new UsageError('--server-status-allow needs --server-status or --metrics-path: it widens who may see them');
  }
}
