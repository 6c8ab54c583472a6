/**
 * Apache ErrorLogFormat strings for --error-log-format. A format is compiled once
 * (in the parse process to validate it, in the master to use it) into fields:
 * as in Apache, the format splits into fields where whitespace follows
 * non-whitespace (`\ ` is a space that does not split, `% ` an empty field
 * separator), and a field whose directive has nothing to say (no request id, no
 * client) is left out whole, with the whitespace before it. `%-L` writes `-`
 * instead; `%7F` writes the item only for messages at that level or more verbose
 * (Apache's numbers: 3 error, 4 warn, 6 info, 7 debug).
 */
import type { ErrorRecord } from '../ipc/messages.js';

export const DEFAULT_ERROR_LOG_FORMAT = '[%{u}t] [%m:%l] [pid %P] [rid\\ %L] %M';

export class ErrorLogFormatError extends Error {}

/** What one line of an error-log record offers a format. */
interface LineFacts {
  readonly record: ErrorRecord;
  readonly pid: number;
  readonly line: string;
}

type Item = (f: LineFacts) => string;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Microseconds of a millisecond timestamp (Date.now() has none: the last three digits are 000). */
const micros = (ms: number) => pad(new Date(ms).getMilliseconds(), 3) + pad(Math.floor((ms % 1) * 1000), 3);

/** %t, %{u}t: `Sat Nov 21 12:08:16 2026`, with `.395000` after the seconds for u (local time, as Apache). */
export function ctime(ms: number, withMicros: boolean): string {
  const d = new Date(ms);
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${withMicros ? '.' + micros(ms) : ''} ${d.getFullYear()}`
  );
}

/** %{c}t, %{cu}t: `2026-11-21 12:08:16` (compact ISO 8601, local time), with `.395000` for u. */
export function compactTime(ms: number, withMicros: boolean): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${withMicros ? '.' + micros(ms) : ''}`
  );
}

/** Apache's level numbers; app output is logged at error, as mod_wsgi logs print(). */
const LEVEL_NUMBER: Record<ErrorRecord[1], number> = { error: 3, warn: 4, info: 6, debug: 7, stdout: 3, stderr: 3 };

const isAppOutput = (level: ErrorRecord[1]) => level === 'stdout' || level === 'stderr';

function timeItem(arg: string | undefined): Item | undefined {
  const flags = new Set(arg ?? '');
  if ([...flags].some((c) => c !== 'u' && c !== 'c')) return undefined;
  const u = flags.has('u');
  return flags.has('c') ? (f) => compactTime(f.record[0], u) : (f) => ctime(f.record[0], u);
}

/** The directive `name` with its {argument}; undefined when this server cannot produce it. */
function item(name: string, arg: string | undefined): Item | undefined {
  if (name === 't') return timeItem(arg);
  if (arg !== undefined && !(name === 'T' && arg === 'g') && !(name === 'P' && arg === 'pid')) return undefined;
  switch (name) {
    case 'l': return (f) => f.record[1];
    case 'm': return (f) => (isAppOutput(f.record[1]) ? 'app' : 'tsgi');
    case 'P': return (f) => String(f.pid);
    // Node runs JavaScript on the process's main thread, whose Linux thread id is the pid.
    case 'T': return (f) => String(f.pid);
    case 'a': return (f) => f.record[4] ?? '';
    case 'L': return (f) => f.record[2];
    case 'M': return (f) => f.line;
    case 'F': return (f) => f.record[5] ?? '';
    default: return undefined;
  }
}

interface Directive {
  readonly name: string;
  readonly item: Item;
  /** `%-x`: write `-` when the item is empty, instead of leaving the field out. */
  readonly dash: boolean;
  /** `%7x`: only for messages of this level number or more verbose. */
  readonly minLevel: number;
}

interface Field {
  /** The whitespace before the field, left out with it. */
  lead: string;
  parts: (string | Directive)[];
}

/** Parses one directive after the '%' at `i`; returns it and the index after it. */
function directiveAt(format: string, i: number): [Directive, number] {
  let j = i;
  let dash = false;
  let digits = '';
  while (format[j] === '-' || /[0-9]/.test(format[j] ?? '')) {
    if (format[j] === '-') dash = true;
    else digits += format[j];
    j++;
  }
  if (format[j] === '+') throw new ErrorLogFormatError('the + modifier (leave out the whole line) is not supported');
  let arg: string | undefined;
  if (format[j] === '{') {
    const close = format.indexOf('}', j);
    if (close < 0) throw new ErrorLogFormatError(`unclosed { after % at position ${i}`);
    arg = format.slice(j + 1, close);
    j = close + 1;
  }
  const name = format[j];
  if (name === undefined) throw new ErrorLogFormatError('ends with an unfinished % directive');
  const found = item(name, arg);
  if (!found) {
    const shown = arg === undefined ? `%${name}` : `%{${arg}}${name}`;
    throw new ErrorLogFormatError(`${shown} is not a directive tsgi-express can log (supported: %t %{u}t %{c}t %{cu}t %l %m %P %T %a %L %M %F %%)`);
  }
  return [{ name, item: found, dash, minLevel: digits === '' ? 0 : Number(digits) }, j + 1];
}

function parseFields(format: string): Field[] {
  const fields: Field[] = [];
  let field: Field = { lead: '', parts: [] };
  const next = (lead: string) => {
    fields.push(field);
    field = { lead, parts: [] };
  };
  const text = (s: string) => {
    const last = field.parts[field.parts.length - 1];
    if (typeof last === 'string') field.parts[field.parts.length - 1] = last + s;
    else field.parts.push(s);
  };
  for (let i = 0; i < format.length; ) {
    const c = format[i]!;
    if (c === '\\' && (format[i + 1] === ' ' || format[i + 1] === '\\')) {
      text(format[i + 1]!);
      i += 2;
    } else if (c === ' ' || c === '\t') {
      if (field.parts.length > 0) next(c);
      else field.lead += c;
      i++;
    } else if (c === '%' && format[i + 1] === '%') {
      text('%');
      i += 2;
    } else if (c === '%' && format[i + 1] === ' ') {
      next('');
      i += 2;
    } else if (c === '%') {
      const [d, after] = directiveAt(format, i + 1);
      field.parts.push(d);
      i = after;
    } else {
      text(c);
      i++;
    }
  }
  fields.push(field);
  return fields.filter((f) => f.parts.length > 0 || f.lead !== '');
}

function renderField(field: Field, f: LineFacts, level: number): string | undefined {
  let out = '';
  for (const part of field.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = part.minLevel > level ? '' : part.item(f);
    if (value !== '') out += value;
    else if (part.dash) out += '-';
    else return undefined;
  }
  return out;
}

/**
 * What the workers must tag records with for this format (%a: the client, %F:
 * where the log call is); an unknown or json format needs nothing.
 */
export function batcherOptions(config: { readonly errorLogFormat: string; readonly logFormat: string }): {
  withClient: boolean;
  withLocation: boolean;
} {
  let names = new Set<string>();
  try {
    if (config.logFormat !== 'json') names = new Set(parseFields(config.errorLogFormat).flatMap((f) => f.parts.filter((p) => typeof p !== 'string').map((d) => d.name)));
  } catch {
    // validated at start-up; nothing to tag otherwise
  }
  return { withClient: names.has('a'), withLocation: names.has('F') };
}

export type ErrorFormatter = (record: ErrorRecord, pid: number) => string;

/** Compiles an ErrorLogFormat; throws ErrorLogFormatError naming what it cannot log. */
export function compileErrorLogFormat(format: string): ErrorFormatter {
  const fields = parseFields(format);
  const formatLine = (record: ErrorRecord, pid: number, line: string, level: number): string => {
    const facts: LineFacts = { record, pid, line };
    let out = '';
    for (const field of fields) {
      const text = renderField(field, facts, level);
      if (text !== undefined) out += (out === '' ? '' : field.lead) + text;
    }
    return out + '\n';
  };
  // Multi-line text (a stack trace) keeps the whole prefix on every line, so each line stands alone.
  return (record, pid) => {
    const level = LEVEL_NUMBER[record[1]] ?? 3;
    const text = record[3].endsWith('\n') ? record[3].slice(0, -1) : record[3];
    if (!text.includes('\n')) return formatLine(record, pid, text, level);
    let out = '';
    for (const line of text.split('\n')) out += formatLine(record, pid, line, level);
    return out;
  };
}
