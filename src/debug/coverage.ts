/**
 * --enable-coverage: V8's precise (block) coverage of the worker, from before
 * the application is loaded, reported at stop as HTML for the application's own
 * files, mapped back through their source maps to the TypeScript as written.
 *
 * V8 counts; turning its byte ranges of the generated JavaScript into lines of
 * the .ts files, and the HTML, are done by istanbul's libraries as c8 uses them
 * (v8-to-istanbul, istanbul-lib-coverage, -report, -reports), loaded only when
 * the report is written.
 */
import path from 'node:path';
import type { Profiler } from 'node:inspector';
import { isAppFile, scriptPath } from './app-files.js';
import { postSync } from './inspector-session.js';

/** istanbul's libraries are CommonJS whose exports Node cannot list for import(): take module.exports. */
async function commonJs<T>(loading: Promise<T>): Promise<T> {
  const loaded = (await loading) as T & { default?: T };
  return loaded.default ?? loaded;
}

export class Coverage {
  constructor(private readonly directory: string) {}

  start(): void {
    postSync('Profiler.enable');
    postSync('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    // Debugger.getScriptSource, for the generated code the ranges are offsets into.
    postSync('Debugger.enable');
  }

  /** Writes the HTML report; returns its index.html, or undefined when no file of the application ran. */
  async report(): Promise<string | undefined> {
    const { result } = postSync<{ result: Profiler.ScriptCoverage[] }>('Profiler.takePreciseCoverage');
    const scripts = result.filter((script) => {
      const file = scriptPath(script.url);
      return file !== undefined && isAppFile(file);
    });
    if (scripts.length === 0) return undefined;
    const [{ default: v8ToIstanbul }, libCoverage, libReport, reports] = await Promise.all([
      import('v8-to-istanbul'),
      commonJs(import('istanbul-lib-coverage')),
      commonJs(import('istanbul-lib-report')),
      commonJs(import('istanbul-reports')),
    ]);
    const coverageMap = libCoverage.createCoverageMap({});
    for (const script of scripts) {
      const { scriptSource } = postSync<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId: script.scriptId });
      const converter = v8ToIstanbul(scriptPath(script.url)!, 0, { source: scriptSource });
      await converter.load();
      converter.applyCoverage(script.functions);
      coverageMap.merge(converter.toIstanbul());
    }
    const context = libReport.createContext({ dir: this.directory, coverageMap, defaultSummarizer: 'nested' });
    reports.create('html').execute(context);
    return path.join(this.directory, 'index.html');
  }
}
