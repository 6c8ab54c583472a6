/**
 * The type of a --config file, derived from the options table (so a new option
 * is a new key here with nothing written twice), and `defineConfig`, which a
 * `.ts` config file calls so its editor checks the keys and values. At run
 * time it only returns what it is given: the parse process validates the file.
 */
import type { z } from 'zod';
import type { OPTIONS } from './options.js';

type Spec = Exclude<(typeof OPTIONS)[number], { key: 'config' }>;

/** A string option's values: its choices (in any case when the option ignores case), else any string. */
type StringValue<T> = [T] extends [string] ? (string extends T ? string : T | Capitalize<T> | Uppercase<T>) : string;

type Pairs = Readonly<Record<string, string | number | boolean>> | readonly (readonly [string, string])[];

type Value<S extends Spec> = S['kind'] extends 'boolean'
  ? boolean
  : S['kind'] extends 'number'
    ? number
    : S['kind'] extends 'list'
      ? string | readonly string[]
      : S['kind'] extends 'pairs'
        ? Pairs
        : StringValue<z.output<S['schema']>>;

/** Every option, under its command-line name without `--` and under its camelCase key. */
export type ConfigOptions = { readonly [S in Spec as S['flag']]?: Value<S> } & {
  readonly [S in Spec as S['key']]?: Value<S>;
};

type AppOptionKey = 'interface' | 'callableObject' | 'keepMountPrefix' | 'setenv' | 'passenv';
type AppOptionFlag = 'interface' | 'callable-object' | 'keep-mount-prefix' | 'setenv' | 'passenv';

/** One entry of `apps`: another application, at its own mount, with its own settings. */
export type AppEntry = Pick<ConfigOptions, AppOptionKey | AppOptionFlag> & {
  /** The URL path it is served at (its SCRIPT_NAME). */
  readonly mount: string;
  /** Its script, relative to the config file. */
  readonly script: string;
  /** Started as root: the user its process group's workers run as (as --user). */
  readonly user?: string;
  /** Started as root: the Unix group its process group's workers run as (as --group). */
  readonly 'unix-group'?: string;
  readonly unixGroup?: string;
};

/** What a --config file holds: the options, the application as `script`, and more applications. */
export type TsgiExpressConfig = ConfigOptions & {
  /** The application script (relative to the config file), as the positional SCRIPT. */
  readonly script?: string;
  /** Applications besides the main one (as --mount-app, with per-app settings). */
  readonly apps?: readonly AppEntry[];
};

/**
 * `export default defineConfig({ processes: 4, setenv: { STAGE: 'prod' } })` in
 * a `.ts` config file: checks the keys and values while you type. A function
 * (sync or async) returning the object is accepted too.
 */
export function defineConfig<const T extends TsgiExpressConfig>(config: T): T;
export function defineConfig<const T extends TsgiExpressConfig>(config: () => T | Promise<T>): () => T | Promise<T>;
export function defineConfig(config: unknown): unknown {
  return config;
}
