/**
 * Pattern mounts (mass hosting), mod_wsgi's WSGIScriptAliasMatch:
 * `--mount-app-match REGEX SCRIPT_TEMPLATE`, e.g. `^/([^/]+)` and
 * `/srv/sites/$1/app.ts`. A request whose path the regex matches gets the app
 * the template names with the captures put in, mounted at the matched prefix.
 *
 * Pure functions shared by the command line (checkMatchRule: why a pair cannot
 * be one), the front workers (matchPath: which script a path names, if any) and
 * the master (insideRule: a script the front asks for is one a rule can name).
 *
 * The regex must start with `^`: what it matches becomes SCRIPT_NAME, which must
 * be a prefix of the path (PATH_INFO is the rest); an unanchored regex would
 * match in the middle of a path. The match must end at a segment boundary (the
 * path's end or a `/`): `^/site` does not mount `/site1` at `/site`.
 *
 * The expanded script must stay inside the template's fixed directory (the
 * directory part before its first capture): a capture that is empty, holds a
 * `.` or `..` segment or a NUL, or that leads outside that directory, names no
 * script. The path the regex sees is the decoded one, so an encoded slash
 * (`%2F`) is a slash there, and the same rule applies to it.
 */
import path from 'node:path';

/** `$1` ... `$9` in a template. */
const CAPTURE = /\$(\d)/g;

/** How many capture groups `source` has, or why it does not compile. */
function groupCount(source: string): number | { problem: string } {
  try {
    new RegExp(source);
    // An alternative that matches the empty string: the match's length is the group count + 1.
    return new RegExp(`${source}|`).exec('')!.length - 1;
  } catch (err) {
    return { problem: `does not compile (${(err as Error).message})` };
  }
}

/** The directory part of `template` before its first capture: what the expanded script must stay inside. */
export function fixedDirectory(template: string): string {
  const first = template.search(/\$\d/);
  const fixed = first < 0 ? template : template.slice(0, first);
  return fixed.endsWith('/') ? fixed.replace(/\/+$/, '') || '/' : path.posix.dirname(fixed);
}

/** Why REGEX TEMPLATE cannot be a pattern mount; undefined when it can. */
export function checkMatchRule(regex: string, template: string): string | undefined {
  if (!regex.startsWith('^')) {
    return `${regex}: the regex must start with ^ (what it matches becomes SCRIPT_NAME, a prefix of the request path)`;
  }
  const groups = groupCount(regex);
  if (typeof groups !== 'number') return `${regex}: the regex ${groups.problem}`;
  const used = [...template.matchAll(CAPTURE)].map((m) => Number(m[1]));
  if (used.length === 0) return `${template}: the template uses no capture of the regex ($1 ... $9): every site would be the same script`;
  const missing = used.find((n) => n === 0 || n > groups);
  if (missing !== undefined) {
    return `${template}: the template uses $${missing}, but the regex ${regex} has ${groups === 0 ? 'no capture group' : `${groups} capture group${groups === 1 ? '' : 's'}`}`;
  }
  if (template.split(/[\\/]/).some((segment) => segment === '.' || segment === '..')) {
    return `${template}: the template must not hold . or .. segments`;
  }
  return undefined;
}

/** A rule as the front and the master use it: compiled, its template absolute. */
export interface MatchRule {
  readonly regex: RegExp;
  readonly template: string;
  readonly fixedDir: string;
  /** `--mount-app-match REGEX`, for messages. */
  readonly source: string;
}

export function compileMatchRules(pairs: readonly (readonly [string, string])[]): MatchRule[] {
  return pairs.map(([regex, template]) => ({
    regex: new RegExp(regex),
    template,
    fixedDir: fixedDirectory(template),
    source: `--mount-app-match ${regex}`,
  }));
}

/** What a pattern mount makes of a request path. */
export interface MatchHit {
  readonly rule: MatchRule;
  /** SCRIPT_NAME: the matched prefix. */
  readonly scriptName: string;
  readonly pathInfo: string;
  /** The expanded template: the app's script. */
  readonly script: string;
}

/** A capture that must never reach a file path. */
function unsafeCapture(value: string | undefined): boolean {
  if (value === undefined || value === '' || value.includes('\0')) return true;
  return value.split(/[\\/]/).some((segment) => segment === '.' || segment === '..');
}

/** Whether `file` lies strictly inside `dir` (both absolute, normalised). */
function inside(file: string, dir: string): boolean {
  return file.startsWith(dir === '/' ? '/' : `${dir}/`) && file !== dir;
}

/** The first rule (in the order given) that matches `decodedPath` and names a script inside its directory. */
export function matchPath(rules: readonly MatchRule[], decodedPath: string): MatchHit | undefined {
  for (const rule of rules) {
    const m = rule.regex.exec(decodedPath);
    if (m === null || m.index !== 0) continue;
    const prefix = m[0].replace(/\/+$/, '');
    const rest = decodedPath.slice(prefix.length);
    if (prefix === '' || (rest !== '' && !rest.startsWith('/'))) continue;
    let unsafe = false;
    const expanded = rule.template.replace(CAPTURE, (_, n: string) => {
      const value = m[Number(n)];
      if (unsafeCapture(value)) unsafe = true;
      return value ?? '';
    });
    if (unsafe) continue;
    const script = path.resolve(expanded);
    if (!inside(script, rule.fixedDir)) continue;
    return { rule, scriptName: prefix, pathInfo: rest, script };
  }
  return undefined;
}

/** The master's check of a script a front worker asks for: one a rule's template can name. */
export function insideRule(rules: readonly MatchRule[], script: string): MatchRule | undefined {
  if (!path.isAbsolute(script) || path.resolve(script) !== script) return undefined;
  return rules.find((rule) => inside(script, rule.fixedDir));
}
