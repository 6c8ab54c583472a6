/**
 * Upgrade requests (`Connection: Upgrade`, WebSockets) on the worker's listeners.
 * Node hands them over raw ('upgrade' event); here each gets a ServerResponse on
 * its socket, so the same stages as any request (access log, host check, header
 * filter, access control, limits, mount, proxy mounts) can answer it (404, 401,
 * 403...) as they always do; what gets through reaches the app's upgrade handler
 * (adapters/upgrade.ts, adapters/fetch-websocket.ts) or a proxy mount. Admission
 * is left out: an open WebSocket is no request in progress and holds no thread.
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { endConnection } from '../pipeline/connection.js';
import type { RequestContext, UpgradeConnection } from '../pipeline/context.js';
import type { NamedStage } from '../pipeline/build.js';
import type { StageName } from '../pipeline/stages.js';
import type { OpenUpgrades } from './open-upgrades.js';

/** Stages that do not apply to upgrade requests. */
const NOT_FOR_UPGRADES: ReadonlySet<StageName> = new Set<StageName>(['admission']);

export function upgradeStages(stages: readonly NamedStage[]): NamedStage[] {
  return stages.filter((s) => !NOT_FOR_UPGRADES.has(s.name));
}

export type UpgradeContextFactory = (req: IncomingMessage, res: ServerResponse, upgrade: UpgradeConnection) => RequestContext;

export function listenForUpgrades(
  server: Server,
  makeContext: UpgradeContextFactory,
  pipeline: (ctx: RequestContext) => void,
  open: OpenUpgrades,
): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    open.add(socket);
    const res = new ServerResponse(req);
    // Node's parser has let go of this connection: whatever a stage answers, it is the last response on it.
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => endConnection(socket as Socket));
    socket.on('error', () => socket.destroy());
    pipeline(makeContext(req, res, { socket, head }));
  });
}
