/**
 * --enable-debugger in the worker: the inspector on 127.0.0.1:--debugger-port,
 * and --debugger-startup's wait. A rolling reload starts the new worker while
 * the old one still holds the port; the old one lets go of it when it starts
 * draining (release), and the new one takes it over as soon as it is free, so a
 * debugger that re-attaches to the port follows the reload.
 */
import inspector from 'node:inspector';
import { writeSync } from 'node:fs';
import type { Log } from '../logging/log.js';
import { DEBUGGER_HOST, portIsFree } from './port-probe.js';
import { devtoolsUrl } from './urls.js';

/** How often a new worker looks whether the old one has let go of the port. */
const TAKEOVER_POLL_MS = 200;

function tryOpen(port: number): string | undefined {
  // inspector.open() does not throw when the port is taken: it prints why and leaves url() undefined.
  inspector.open(port, DEBUGGER_HOST, false);
  return inspector.url();
}

export class WorkerInspector {
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    private readonly port: number,
    private readonly log: Log,
    public url: string | undefined,
  ) {}

  /**
   * Opens the inspector, or (the port still held by the worker this one replaces)
   * keeps looking until it can. With `waitForDebugger`, a worker that got the port
   * at once blocks until a debugger attaches, then pauses before returning.
   */
  static async open(port: number, waitForDebugger: boolean, log: Log): Promise<WorkerInspector> {
    const url = (await portIsFree(port)) ? tryOpen(port) : undefined;
    const opened = new WorkerInspector(port, log, url);
    if (url === undefined) opened.takeOverLater();
    else if (waitForDebugger) opened.waitAndPause();
    return opened;
  }

  private takeOverLater(): void {
    this.log.info(`the debugger port ${DEBUGGER_HOST}:${this.port} is still held (by the worker this one replaces?): waiting for it`);
    const poll = async (): Promise<void> => {
      this.timer = undefined;
      if (this.released) return;
      this.url = (await portIsFree(this.port)) ? tryOpen(this.port) : undefined;
      if (this.url !== undefined) return this.log.info(`Debugger listening on ${this.url} (worker ${process.pid})`);
      this.timer = setTimeout(() => void poll(), TAKEOVER_POLL_MS);
      this.timer.unref();
    };
    this.timer = setTimeout(() => void poll(), TAKEOVER_POLL_MS);
    this.timer.unref();
  }

  private waitAndPause(): void {
    writeSync(2, `tsgi-express: --debugger-startup: waiting for a debugger to attach to ${this.url}\n` +
      `  Chrome: ${devtoolsUrl(this.url!)}\n  VS Code: "attach" to ${DEBUGGER_HOST}:${this.port} (docs/debugging.md)\n`);
    inspector.waitForDebugger();
    // --debugger-startup: the application is loaded next. Set breakpoints in its
    // files now (they bind when the files load), then resume.
    debugger;
  }

  /** Draining: let go of the port, so the worker replacing this one can take it. */
  release(): void {
    this.released = true;
    clearTimeout(this.timer);
    if (this.url !== undefined) inspector.close();
    this.url = undefined;
  }
}
