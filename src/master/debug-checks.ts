/**
 * Before the first fork, what the debugging tools need from the machine:
 * --debugger-port free on 127.0.0.1 (0 becomes a concrete port, so every
 * generation of workers uses the same one), and each tool's directory writable
 * (created if missing). A failure is a UsageError naming the flag: exit 2,
 * before anything starts.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { debugDirectory, directoryFlag, type DebugTool } from '../config/debug-paths.js';
import { DEBUGGER_HOST, freePort, portIsFree } from '../debug/port-probe.js';
import { UsageError } from '../errors.js';

function enabledTools(config: Config): DebugTool[] {
  const tools: DebugTool[] = [];
  if (config.enableProfiler) tools.push('profiler');
  if (config.enableCoverage) tools.push('coverage');
  if (config.enableRecorder) tools.push('recorder');
  return tools;
}

function checkWritable(config: Config, tool: DebugTool): void {
  const dir = debugDirectory(config, tool);
  const probe = path.join(dir, `.tsgi-express-write-test-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`${directoryFlag(tool)} ${dir}: cannot write there (${why})`);
  }
}

async function debuggerPort(config: Config): Promise<number> {
  const port = config.debuggerPort;
  if (port === 0) return freePort();
  if (!(await portIsFree(port))) {
    throw new UsageError(`--debugger-port ${port}: ${DEBUGGER_HOST}:${port} is in use (another debugger, or another server?); choose a free port`);
  }
  return port;
}

/** The Config with a concrete --debugger-port; throws UsageError when a tool cannot work. */
export async function prepareDebugTools(config: Config): Promise<Config> {
  for (const tool of enabledTools(config)) checkWritable(config, tool);
  if (!config.enableDebugger) return config;
  const port = await debuggerPort(config);
  return port === config.debuggerPort ? config : Object.freeze({ ...config, debuggerPort: port });
}
