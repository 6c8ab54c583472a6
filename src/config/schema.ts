/**
 * The zod schema of a complete Config, built from the options table plus the
 * values resolve.ts derives. The master validates argv into a Config and hands it
 * to each worker as JSON; workers trust it (loading zod there costs ~13 MB RSS each).
 */
import { z } from 'zod';
import { appSchema } from './apps.js';
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
  /**
   * True when --deadlock-timeout was given (above 0, outside debug mode): each worker then
   * keeps a watchdog thread (~12-16 MB) that says where a stuck worker's JavaScript is.
   * At the default a stuck worker is replaced and killed all the same, without its stack.
   */
  deadlockStacks: z.boolean(),
  /** The name the server gives itself in URLs and %v: --server-name, else --host, else localhost (mod_wsgi-express's server_host). */
  serverHost: z.string().min(1),
  version: z.string(),
  /** The applications besides the main one (--mount-app, a config file's `apps`): config/apps.ts. */
  apps: z.array(appSchema),
  /** Set by the master (config/groups.ts): each process group's unix socket, by group name, for the front workers. */
  groupSockets: z.record(z.string(), z.string()).optional(),
  /** In a process group's own workers: the group they serve behind the hop. */
  servesGroup: z.string().optional(),
  /** In a group's workers, whose main app carries its own setenv: the server-wide values, for the group's other apps. */
  serverEnv: z.object({ setenv: z.array(z.tuple([z.string(), z.string()])), passenv: z.array(z.string()) }).optional(),
};

export const configSchema = z.object({ ...tableShape(), ...derivedShape }).strict();

type Spec = (typeof OPTIONS)[number];
type Value<S extends Spec> = z.output<S['schema']>;
/** Options with a static default are always present; the others only when given. */
type TableConfig = { readonly [S in Extract<Spec, { default: unknown }> as S['key']]: Value<S> } & {
  readonly [S in Exclude<Spec, { default: unknown }> as S['key']]?: Value<S>;
};
type Derived = z.output<z.ZodObject<typeof derivedShape>>;

/**
 * The validated, frozen configuration shared by the master and every worker:
 * one key per row of the options table (typed by its schema), plus the derived
 * values above. Adding an option to the table adds it here; nothing is written twice.
 */
export type Config = Readonly<Omit<TableConfig, keyof Derived> & Derived>;

/** Parses a Config handed over by the master; throws on anything malformed. */
export function parseConfig(value: unknown): Config {
  return Object.freeze(configSchema.parse(value)) as Config;
}
