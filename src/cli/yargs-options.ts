/**
 * Builds the yargs options of `start-server` from the options table. yargs only
 * tokenises: it is given no defaults (an absent flag stays absent) and numbers are
 * read as strings, so validation and its messages are the schema's (resolve.ts).
 */
import type { Options } from 'yargs';
import { OPTIONS, type OptionSpec } from '../config/options.js';

export function defaultText(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined) return undefined;
  if (Array.isArray(spec.default)) return spec.default.length ? spec.default.join(' ') : undefined;
  if (spec.default === false) return undefined;
  return String(spec.default);
}

function yargsOption(spec: OptionSpec): Options {
  const base: Options = {
    describe: spec.help,
    group: `${spec.section}:`,
    defaultDescription: defaultText(spec),
    requiresArg: spec.kind !== 'boolean',
  };
  if (spec.aliases) base.alias = [...spec.aliases];
  switch (spec.kind) {
    case 'boolean': return { ...base, type: 'boolean' };
    // One word per flag (--passenv A --passenv B), as mod_wsgi-express's append
    // options: `array` would also take the SCRIPT that follows as a second name.
    case 'list': return { ...base, type: 'string' };
    case 'pairs': return { ...base, type: 'string', array: true, nargs: 2 };
    default: return { ...base, type: 'string' };
  }
}

export function yargsOptions(): Record<string, Options> {
  const result: Record<string, Options> = {};
  for (const spec of OPTIONS as readonly OptionSpec[]) result[spec.flag] = yargsOption(spec);
  return result;
}

/** argv as parsed by yargs -> raw option values keyed by config key (given ones only). */
export function rawFromArgv(argv: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    let value = argv[spec.flag];
    if (value === undefined) continue;
    if (spec.kind === 'pairs') value = toPairs(value as string[]);
    else if (spec.kind === 'list') value = ([] as unknown[]).concat(value); // repeated flags give an array
    else if (Array.isArray(value)) value = value[value.length - 1]; // last one wins
    raw[spec.key] = value;
  }
  return raw;
}

function toPairs(words: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < words.length; i += 2) pairs.push([words[i]!, words[i + 1]!]);
  return pairs;
}
