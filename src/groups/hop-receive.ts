/**
 * A process group's side of the hop: its workers accept only the front's
 * connections on the group's unix socket, and each request brings what the front
 * decided (hop-facts.ts). This stage puts that on the context, so the app's
 * environ, the node interface's req.socket view and the fetch Request say what
 * they would in the front worker: the client's connection (req.socket reports
 * it: addresses, ports, TLS), the scheme and port it came in on, its HTTP
 * version, SCRIPT_NAME and PATH_INFO, REMOTE_USER.
 */
import type { IncomingMessage } from 'node:http';
import type { ListenerInfo, Stage } from '../pipeline/context.js';
import { sendError } from '../pipeline/error-response.js';
import { hopSocket } from './hop-connection.js';
import { hopFacts } from './hop-facts.js';

const UNKNOWN: ListenerInfo = { scheme: 'http', port: 0 };

/** The listener the request came in on at the front. */
export function hopListener(req: IncomingMessage): ListenerInfo {
  return hopFacts(req)?.listener ?? UNKNOWN;
}

/** The front's request id, so that the front's and the group's log lines of one request match. */
export function hopRequestId(req: IncomingMessage): string | undefined {
  return hopFacts(req)?.id;
}

export const hopReceiveStage: Stage = (ctx, next) => {
  const facts = hopFacts(ctx.req);
  if (facts === null) {
    sendError(ctx.res, 400, { detail: 'This socket serves requests passed on by the tsgi-express front workers only.' });
    return;
  }
  (ctx as { startUs: number }).startUs = facts.start;
  ctx.scriptName = facts.scriptName;
  ctx.pathInfo = facts.pathInfo;
  ctx.queryString = facts.queryString;
  ctx.appIndex = facts.app;
  if (facts.forwarded !== undefined) ctx.forwarded = facts.forwarded;
  const req = ctx.req;
  req.socket = hopSocket(req.socket, facts.connection);
  if (facts.httpVersion !== undefined) {
    const [major, minor] = facts.httpVersion.split('.').map(Number);
    req.httpVersion = facts.httpVersion;
    req.httpVersionMajor = major!;
    req.httpVersionMinor = minor ?? 0;
  }
  if (facts.remoteUser !== undefined) ctx.remoteUser = facts.remoteUser;
  if (facts.authType !== undefined) ctx.authType = facts.authType;
  if (facts.clientMethod !== undefined) ctx.clientMethod = facts.clientMethod;
  next(ctx);
};
