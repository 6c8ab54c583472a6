/**
 * The zod schema of a complete Config, built from the options table plus the
 * values resolve.ts derives. The master validates argv into a Config and hands it
 * to each worker as JSON; workers trust it (loading zod there costs ~13 MB RSS each).
 */
import { z } from 'zod';
import { OPTIONS, type OptionSpec } from './options.js';

function tableShape(): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    shape[spec.key] = spec.default === undefined ? spec.schema.optional() : spec.schema;
  }
  return shape;
}

/** Values computed from the options; absent from the table because no flag sets them. */
const derivedShape = {
  entryPoint: z.string().min(1),
  /** Absolute path of the file the entry point resolved to (what reloading watches). */
  scriptPath: z.string().min(1),
  workingDirectory: z.string().min(1),
  serverRoot: z.string().min(1),
  processes: z.number().int().min(1),
  /** mod_wsgi: true when --processes was given at all (even 1); false in debug mode. */
  multiprocess: z.boolean(),
  /** The name the server gives itself in URLs: --host, else localhost. */
  serverName: z.string().min(1),
  version: z.string(),
};

export const configSchema = z.object({ ...tableShape(), ...derivedShape }).strict();

type ApplicationType = 'script' | 'module';
type Interface = 'auto' | 'tsgi' | 'fetch' | 'node';
type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The validated, frozen configuration shared by the master and every worker. */
export interface Config {
  readonly entryPoint: string;
  readonly scriptPath: string;
  readonly applicationType: ApplicationType;
  readonly callableObject: string;
  readonly interface: Interface;
  readonly mountPoint: string;
  readonly workingDirectory: string;
  readonly serverRoot: string;
  readonly host?: string;
  readonly serverName: string;
  readonly port: number;
  readonly processes: number;
  readonly multiprocess: boolean;
  readonly threads: number;
  readonly startupTimeout: number;
  readonly shutdownTimeout: number;
  readonly gracefulTimeout: number;
  readonly queueTimeout: number;
  readonly reloadOnChanges: boolean;
  readonly disableReloading: boolean;
  readonly setenv: readonly (readonly [string, string])[];
  readonly passenv: readonly string[];
  readonly logLevel: LogLevel;
  readonly accessLog: boolean;
  /** `common`, `combined` or an Apache LogFormat string (validated by compiling it). */
  readonly accessLogFormat: string;
  readonly pidFile?: string;
  readonly debugMode: boolean;
  readonly version: string;
}

/** Parses a Config handed over by the master; throws on anything malformed. */
export function parseConfig(value: unknown): Config {
  return Object.freeze(configSchema.parse(value)) as Config;
}
