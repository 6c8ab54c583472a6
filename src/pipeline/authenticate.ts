/**
 * Stage: authentication and the group check (--auth-user-script,
 * --auth-user-file, --auth-digest-file, --auth-group-script), under
 * --auth-location or site-wide. mod_wsgi's semantics (docs/authentication.md):
 *
 * - no credentials, another scheme, a wrong password, an unknown user, a user
 *   outside --auth-group: 401 with a fresh challenge;
 * - malformed credentials (bad base64, no ':', a Digest header with a missing,
 *   repeated or unusable parameter, a `uri` that is not the request target): 400;
 * - a script that breaks its return contract or throws: 500, logged;
 * - authenticated: REMOTE_USER, AUTH_TYPE (and req.remoteUser, req.authType for
 *   Node apps), then the rest of the pipeline.
 *
 * A failed login is logged at warn as
 *   [client ADDR:PORT] user "NAME": authentication failure for "URI": REASON
 * which the fail2ban filter in docs/authentication.md matches; never the password.
 */
import type { IncomingMessage } from 'node:http';
import type {} from '../index.js'; // req.remoteUser and req.authType
import { escapeField } from '../logging/access-format.js';
import type { Log } from '../logging/log.js';
import type { Membership, RealmHash, Verdict } from '../auth/contracts.js';
import { isProblem, parseBasic, parseDigest, quote, splitScheme, type DigestCredentials } from '../auth/credentials.js';
import { expectedResponse, sameHex, type NonceCheck, type NonceCodec } from '../auth/digest.js';
import { scriptEnviron, type ScriptServer } from '../auth/script-environ.js';
import { andThen, askGroups, type MaybePromise, type UserSource } from '../auth/user-sources.js';
import type { RequestContext, Stage } from './context.js';
import { formatError, sendError } from './error-response.js';
import { clientTag } from './client-tag.js';
import { absoluteForm, requestTarget } from './request-view.js';

export type AuthType = 'Basic' | 'Digest';

/** The master's answer on a (nonce, nc) pair: accepted once, whichever worker asks. */
export type NonceClaim = 'fresh' | 'replayed' | 'stale';

export interface NonceLedger {
  claim(nonce: string, nc: string, issuedAt: number): Promise<NonceClaim>;
}

export interface AuthSetup {
  readonly type: AuthType;
  readonly realm: string;
  /** Normalised path prefixes; empty: the whole site. */
  readonly locations: readonly string[];
  readonly users: UserSource;
  readonly group?: { readonly name: string; readonly groupsForUser: (...args: unknown[]) => unknown };
  /** Digest only. */
  readonly nonces?: NonceCodec;
  readonly ledger?: NonceLedger;
  readonly server: ScriptServer;
  readonly log: Log;
  readonly debugMode: boolean;
}

/** Whether `path` is at or under one of the prefixes, on segment boundaries. */
export function underLocation(path: string, locations: readonly string[]): boolean {
  if (locations.length === 0) return true;
  for (const loc of locations) {
    if (loc === '/' || path === loc || (path.startsWith(loc) && path.charCodeAt(loc.length) === 47)) return true;
  }
  return false;
}

const MAX_LOGGED_NAME = 128;

function loggedName(user: string): string {
  return escapeField(user.length > MAX_LOGGED_NAME ? user.slice(0, MAX_LOGGED_NAME) + '...' : user);
}

/** The one Authorization header, undefined when none, or null when there are several. */
function authorization(req: IncomingMessage): string | null | undefined {
  const raw = req.rawHeaders;
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue;
    if (found !== undefined) return null;
    found = raw[i + 1]!;
  }
  return found;
}

/** The Digest `uri` names the request target: as sent, or the path of an absolute-form target. */
function sameTarget(uri: string, target: string): boolean {
  if (uri === target) return true;
  const abs = absoluteForm(target);
  return abs !== undefined && uri === abs.rest;
}

export function authenticateStage(setup: AuthSetup): Stage {
  const { type, realm, locations, users, group, nonces, ledger, server, log, debugMode } = setup;
  const basicChallenge = `Basic realm=${quote(realm)}, charset="UTF-8"`;

  const challenge = (ctx: RequestContext, stale = false): void => {
    const value = type === 'Basic' ? basicChallenge : nonces!.challenge(stale);
    sendError(ctx.res, 401, { headers: { 'WWW-Authenticate': value } });
  };

  const failed = (ctx: RequestContext, user: string, reason: string): void => {
    const target = escapeField(requestTarget(ctx.req));
    log.warn(`${clientTag(ctx)} user "${loggedName(user)}": authentication failure for "${target}": ${reason}`, ctx.id);
    ctx.remoteUser = user; // the access log's %u shows who tried, as Apache's does
    challenge(ctx);
  };

  const broken = (ctx: RequestContext, rule: string): void => {
    log.error(`${clientTag(ctx)} ${rule}`, ctx.id);
    sendError(ctx.res, 500, { debugError: debugMode ? new Error(rule) : undefined });
  };

  const badRequest = (ctx: RequestContext, detail: string): void => {
    log.info(`${clientTag(ctx)} malformed Authorization header for "${escapeField(requestTarget(ctx.req))}": ${detail}`, ctx.id);
    sendError(ctx.res, 400, { detail });
  };

  const admit = (ctx: RequestContext, next: (ctx: RequestContext) => void, user: string): void => {
    if (ctx.res.destroyed) return; // the client left while we checked: nothing is waiting for the app's answer
    ctx.remoteUser = user;
    ctx.authType = type;
    ctx.req.remoteUser = user;
    ctx.req.authType = type;
    next(ctx);
  };

  const checkGroup = (ctx: RequestContext, next: (ctx: RequestContext) => void, user: string): MaybePromise<void> => {
    if (!group) return admit(ctx, next, user);
    const environ = scriptEnviron(ctx, server, log, { user, type });
    return andThen(askGroups(group.groupsForUser, environ, user, group.name), (m: Membership) => {
      if (m.member) return admit(ctx, next, user);
      const line = `${clientTag(ctx)} user "${loggedName(user)}": access to "${escapeField(requestTarget(ctx.req))}" denied by --auth-group-script: ${m.reason}`;
      if (m.broken) log.error(line, ctx.id);
      else log.warn(line, ctx.id);
      ctx.remoteUser = user;
      challenge(ctx); // Apache answers a failed Require with 401, not 403
    });
  };

  const afterVerdict = (ctx: RequestContext, next: (ctx: RequestContext) => void, attempted: string, v: Verdict) => {
    if (v.kind === 'abandoned') return; // the client left before its check started: nobody to answer, nothing learnt
    if (v.kind === 'error') return broken(ctx, v.rule);
    if (v.kind === 'denied') return failed(ctx, attempted, v.reason);
    return checkGroup(ctx, next, v.user);
  };

  const environFor = (ctx: RequestContext) => () => scriptEnviron(ctx, server, log);

  const basic = (ctx: RequestContext, next: (ctx: RequestContext) => void, token: string): MaybePromise<void> => {
    const credentials = parseBasic(token);
    if (isProblem(credentials)) return badRequest(ctx, credentials.problem);
    const verdict = users.checkBasic(environFor(ctx), credentials, { id: ctx.id, gone: () => ctx.res.destroyed });
    return andThen(verdict, (v) => afterVerdict(ctx, next, credentials.user, v));
  };

  const afterClaim = (ctx: RequestContext, next: (ctx: RequestContext) => void, c: DigestCredentials, claim: NonceClaim) => {
    if (claim === 'fresh') return checkGroup(ctx, next, c.user);
    if (claim === 'stale') return challenge(ctx, true);
    return failed(ctx, c.user, `nonce count ${c.nc} replayed`);
  };

  const afterHash = (
    ctx: RequestContext,
    next: (ctx: RequestContext) => void,
    c: DigestCredentials,
    nonce: Extract<NonceCheck, { issuedAt: number }>,
    h: RealmHash,
  ): MaybePromise<void> => {
    if (h.kind === 'error') return broken(ctx, h.rule);
    if (h.kind === 'denied') return failed(ctx, c.user, h.reason);
    const expected = expectedResponse(h.ha1, ctx.req.method ?? 'GET', c.uri, c.nonce, c.nc, c.cnonce);
    if (!sameHex(expected, c.response)) return failed(ctx, c.user, 'password mismatch');
    // RFC 7616: stale=true only to a client that proved it knows the password.
    if (nonce.kind === 'stale') return challenge(ctx, true);
    return ledger!.claim(c.nonce, c.nc, nonce.issuedAt).then(
      (claim) => afterClaim(ctx, next, c, claim),
      (err: unknown) => {
        log.error(`Digest nonce check failed: ${formatError(err)}`, ctx.id);
        sendError(ctx.res, 503, { headers: { 'Retry-After': '1' } });
      },
    );
  };

  const digest = (ctx: RequestContext, next: (ctx: RequestContext) => void, rest: string): MaybePromise<void> => {
    const c = parseDigest(rest);
    if (isProblem(c)) return badRequest(ctx, c.problem);
    if (!sameTarget(c.uri, requestTarget(ctx.req))) {
      return badRequest(ctx, 'The Digest uri parameter is not the request target.');
    }
    if (c.realm !== realm) return failed(ctx, c.user, `realm "${escapeField(c.realm)}" is not this server's`);
    if (c.opaque !== undefined && c.opaque !== nonces!.opaque) return failed(ctx, c.user, 'opaque is not this server\'s');
    const nonce = nonces!.check(c.nonce);
    if (nonce.kind === 'invalid') return failed(ctx, c.user, 'invalid nonce');
    return andThen(users.realmHash(environFor(ctx), c.user, realm), (h) => afterHash(ctx, next, c, nonce, h));
  };

  const onUnexpected = (ctx: RequestContext) => (err: unknown) => {
    log.error(`request failed in the authenticate stage or after it: ${formatError(err)}`, ctx.id);
    if (!sendError(ctx.res, 500)) ctx.res.destroy();
  };

  return (ctx, next) => {
    if (!underLocation(ctx.scriptName + ctx.pathInfo, locations)) return next(ctx);
    clientTag(ctx);
    const header = authorization(ctx.req);
    if (header === null) return void sendError(ctx.res, 400, { detail: 'The request has more than one Authorization header.' });
    if (header === undefined) return challenge(ctx);
    const { scheme, rest } = splitScheme(header);
    if (scheme.toLowerCase() !== type.toLowerCase()) {
      log.debug(`${clientTag(ctx)} client used the authentication scheme "${escapeField(scheme)}", not ${type}`, ctx.id);
      return challenge(ctx);
    }
    let done: MaybePromise<void>;
    try {
      done = type === 'Basic' ? basic(ctx, next, rest) : digest(ctx, next, rest);
    } catch (err) {
      return onUnexpected(ctx)(err);
    }
    if (done instanceof Promise) done.catch(onUnexpected(ctx));
  };
}
