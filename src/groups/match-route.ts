/**
 * The front worker's side of the pattern mounts (--mount-app-match,
 * config/match-rules.ts): which app a request path names, and whether its script
 * exists. The mount stage asks here; a path whose script exists is given to that
 * app (ctx.matchScript), one whose script does not goes to the explicit mount
 * that holds it, else 404.
 *
 * Whether a script exists is asked of the file system once a second at most per
 * script (a cache of fs.stat answers, bounded), so a site directory created or
 * removed is seen within a second, and a flood of requests for sites that do not
 * exist costs no more than one stat each per second.
 */
import { stat } from 'node:fs';
import { compileMatchRules, matchPath, type MatchHit, type MatchRule } from '../config/match-rules.js';

/** How long a stat answer is trusted. */
const EXISTS_TTL_MS = 1000;
/** More scripts than this cached at once: the cache starts again (a scan of made-up site names). */
const CACHE_LIMIT = 10_000;

export class PatternRouter {
  private readonly rules: readonly MatchRule[];
  private readonly known = new Map<string, { readonly exists: boolean; readonly at: number }>();

  constructor(pairs: readonly (readonly [string, string])[]) {
    this.rules = compileMatchRules(pairs);
  }

  /** The pattern app `decodedPath` names, if any rule matches (its script may not exist). */
  match(decodedPath: string): MatchHit | undefined {
    return matchPath(this.rules, decodedPath);
  }

  /** Calls back with whether `script` is a file now (synchronously when the cache knows). */
  exists(script: string, done: (exists: boolean) => void): void {
    const now = performance.now();
    const cached = this.known.get(script);
    if (cached !== undefined && now - cached.at < EXISTS_TTL_MS) return done(cached.exists);
    stat(script, (err, stats) => {
      const exists = err === null && stats.isFile();
      if (this.known.size >= CACHE_LIMIT) this.known.clear();
      this.known.set(script, { exists, at: performance.now() });
      done(exists);
    });
  }
}

/** The router for the Config's pattern mounts; undefined without any. */
export function patternRouter(pairs: readonly (readonly [string, string])[]): PatternRouter | undefined {
  return pairs.length > 0 ? new PatternRouter(pairs) : undefined;
}
