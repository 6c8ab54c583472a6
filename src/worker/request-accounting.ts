/**
 * The worker's side of recycling and the request watchdog: builds the InFlight
 * bookkeeping (pipeline/in-flight.ts) from the Config, and asks the master to
 * recycle this worker when it has served its --maximum-requests (plus its share
 * of --maximum-requests-jitter, drawn once per worker, as gunicorn does).
 */
import { randomInt } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { WorkerStats } from '../ipc/messages.js';
import type { Log } from '../logging/log.js';
import { responsesCounted } from '../ipc/request-counts.js';
import type { Admission } from '../pipeline/admission.js';
import { InFlight } from '../pipeline/in-flight.js';
import { send } from './master-channel.js';

export function createInFlight(config: Config, log: Log): InFlight {
  const jitter = config.maximumRequestsJitter > 0 ? randomInt(config.maximumRequestsJitter + 1) : 0;
  const maximumRequests = config.maximumRequests > 0 ? config.maximumRequests + jitter : 0;
  return new InFlight({
    maximumRequests,
    onLimit: (served) =>
      send({ t: 'recycle', reason: 'maximum_requests', detail: `served ${served} requests (--maximum-requests ${config.maximumRequests}${jitter ? ` + jitter ${jitter}` : ''})` }),
    trackActivity: config.inactivityTimeout > 0,
    ignoreActivity: config.ignoreActivity,
    // Debug mode: a request paused in a debugger is not cut off.
    requestTimeout: config.debugMode ? 0 : config.requestTimeout,
    log,
  });
}

/** The worker's answer to the master's heartbeat. */
export function workerStats(admission: Admission, inFlight: InFlight, extra?: Pick<WorkerStats, 'counts' | 'eventLoopDelay'>): WorkerStats {
  const cpu = process.cpuUsage();
  const oldest = inFlight.oldest();
  return {
    ...extra,
    ...(oldest ? { oldestRequest: oldest } : {}),
    // Counted as mod_status counts accesses when the responses are counted (--server-status,
    // metrics): static files and the server's own answers too, not only the application's.
    requests: extra?.counts ? responsesCounted(extra.counts) : inFlight.requests,
    inFlight: admission.running,
    queued: admission.queued,
    requestTimeouts: inFlight.timeouts,
    queueTimeouts: admission.timedOut,
    idleMs: Math.round(inFlight.idleMs()),
    rss: process.memoryUsage.rss(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
