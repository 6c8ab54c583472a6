/**
 * The debugging tools a worker runs (docs/debugging.md), started before the
 * application is loaded: the inspector (--enable-debugger, --debugger-startup)
 * and the guard application code is called through, the CPU profiler and
 * coverage. The recorder is a pipeline stage (pipeline/stages.ts). Debug mode
 * only: resolve.ts turns it on with any of these options.
 */
import type { Config } from '../config/schema.js';
import { debugDirectory } from '../config/debug-paths.js';
import type { AppGuard } from '../debug/app-guard.js';
import type { Log } from '../logging/log.js';

export interface DebugTools {
  /** --enable-debugger: what application code is called through. */
  readonly guard?: AppGuard;
  /** The inspector's WebSocket URL, once this worker holds the port. */
  inspectorUrl(): string | undefined;
  /** SIGUSR2 (asked by the master): writes the CPU profile so far; the file, or an error without --enable-profiler. */
  writeProfile(): string;
  /** The worker starts draining: a reload's new worker may take the debugger port now. */
  draining(): void;
  /** The worker's last step: the CPU profile, and at server stop the coverage report. */
  finish(reason: 'reload' | 'shutdown' | 'recycle'): Promise<void>;
}

/** Each tool's module is loaded only when its option is on: a worker without them keeps none (node:inspector included). */
export async function startDebugTools(config: Config, log: Log): Promise<DebugTools> {
  const debuggerOn = config.enableDebugger ? await import('../debug/inspector.js') : undefined;
  const inspector = debuggerOn ? await debuggerOn.WorkerInspector.open(config.debuggerPort, config.debuggerStartup, log) : undefined;
  const guard = config.enableDebugger ? (await import('../debug/app-guard.js')).postMortemGuard() : undefined;
  const profiler = config.enableProfiler ? new (await import('../debug/cpu-profiler.js')).CpuProfiler(debugDirectory(config, 'profiler')) : undefined;
  const coverage = config.enableCoverage ? new (await import('../debug/coverage.js')).Coverage(debugDirectory(config, 'coverage')) : undefined;
  profiler?.start();
  coverage?.start();
  // A worker that crashes or is stopped outright still leaves its profile.
  if (profiler) process.on('exit', () => profiler.write(true));
  return {
    guard,
    inspectorUrl: () => inspector?.url,
    writeProfile: () => {
      if (!profiler) throw new Error('the server runs without --enable-profiler');
      return profiler.write()!;
    },
    draining: () => inspector?.release(),
    finish: async (reason) => {
      const file = profiler?.write(true);
      if (file) log.info(`CPU profile written: ${file}`);
      if (!coverage || reason !== 'shutdown') return;
      try {
        const index = await coverage.report();
        log.info(index ? `Coverage report written: ${index}` : 'Coverage: no file of the application ran');
      } catch (err) {
        log.error(`Coverage report failed: ${err instanceof Error ? err.stack : String(err)}`);
      }
    },
  };
}
