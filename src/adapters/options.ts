/**
 * What every interface adapter needs from the worker. Structurally the same as the
 * TSGI handler's options, so selectInterface passes one object to all of them.
 */
import type { AppGuard } from '../debug/app-guard.js';
import type { Log } from '../logging/log.js';
import type { ServerInfo } from '../tsgi/environ.js';

export interface InterfaceOptions {
  readonly server: ServerInfo;
  readonly log: Log;
  readonly debugMode: boolean;
  /** --enable-debugger: application code is called through it (debug/app-guard.ts). */
  readonly guard?: AppGuard;
}
