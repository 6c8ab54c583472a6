/**
 * --enable-profiler: a V8 CPU profile of the worker, from before the application
 * is loaded, written as a .cpuprofile (the format Chrome DevTools and VS Code
 * open) when the worker exits, and on demand (SIGUSR2 to the master, which asks
 * the worker), after which profiling starts again. mod_wsgi-express dumps
 * cProfile's pstats the same way, at exit.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { postSync } from './inspector-session.js';

/** `2026-05-11T05-12-33.123Z-4242.cpuprofile`: sorts by time, names the process. */
function fileName(): string {
  return `${new Date().toISOString().replaceAll(':', '-')}-${process.pid}.cpuprofile`;
}

export class CpuProfiler {
  private running = false;

  constructor(private readonly directory: string) {}

  start(): void {
    postSync('Profiler.enable');
    postSync('Profiler.start');
    this.running = true;
  }

  /** Writes what was recorded since the start (or the last write); profiling goes on unless `last`. */
  write(last = false): string | undefined {
    if (!this.running) return undefined;
    const { profile } = postSync<{ profile: object }>('Profiler.stop');
    this.running = false;
    mkdirSync(this.directory, { recursive: true });
    const file = path.join(this.directory, fileName());
    writeFileSync(file, JSON.stringify(profile));
    if (!last) this.start();
    return file;
  }
}
