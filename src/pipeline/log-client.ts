/**
 * Stage (only with an --error-log-format that has %a): notes each request's
 * client `address:port` (behind a trusted proxy, the address it gives) by request
 * id while the request runs, so the error-log
 * lines that belong to it can carry it (logging/request-clients.ts).
 */
import type { ServerResponse } from 'node:http';
import { forgetClient, setClient } from '../logging/request-clients.js';
import type { Stage } from './context.js';
import { requestClient } from './request-view.js';

const RID = Symbol('tsgi.logClientRid');

type Tagged = ServerResponse & { [RID]?: string };

// Shared by every response ('close' calls it with `this` = the response): no closure per request.
const forget = function (this: Tagged) {
  forgetClient(this[RID]!);
};

export const logClientStage: Stage = (ctx, next) => {
  const socket = ctx.req.socket;
  setClient(ctx.id, `${requestClient(ctx) ?? '-'}:${socket.remotePort ?? '-'}`);
  const res = ctx.res as Tagged;
  res[RID] = ctx.id;
  res.once('close', forget);
  next(ctx);
};
