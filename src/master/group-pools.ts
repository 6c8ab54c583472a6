/**
 * The pools of the process groups besides the main one (config/groups.ts): one
 * Supervisor per group, each with its own workers, size, generation, back-off
 * and reloads, and the unix socket its workers share, which the master binds
 * and keeps (as it keeps the main listener with one worker): a crashed or
 * reloading group's requests wait in that socket's backlog for its next worker.
 * The arbiter runs every verb on the main pool and on these alike; what happens
 * to one group (a crash, a reload that fails to load, a recycle) is that
 * group's alone.
 */
import type { Config } from '../config/schema.js';
import { groupSocketPaths, groupView, processGroups, type ProcessGroup } from '../config/groups.js';
import type { ReadyMessage, ServerPhase } from '../ipc/messages.js';
import { ListeningSockets } from './listening-socket.js';
import type { LogWriter } from './log-writer.js';
import { groupIdentity, type WorkerIdentity } from './privileges.js';
import { Supervisor, type PoolHooks } from './supervisor.js';
import type { MasterAnswers } from './worker-messages.js';
import type { WorkerHandle } from './worker-handle.js';

export interface GroupPool {
  readonly group: ProcessGroup;
  /** The Config its workers run with (groupView). */
  readonly config: Config;
  readonly supervisor: Supervisor;
  readonly socket: ListeningSockets;
  /** The files its workers loaded (what a change reloads it for). */
  readonly files: Set<string>;
  /** Its apps' interfaces as its workers found them, in group order (the banner). */
  readonly kinds: string[];
  /** Who its workers run as, when the group names its own user or Unix group (the banner). */
  readonly user?: string;
}

/** The main pool's Config with each group's socket, and the groups; unchanged without groups. */
export function planGroups(config: Config): { config: Config; groups: ProcessGroup[] } {
  const groups = processGroups(config);
  if (groups.length === 0) return { config, groups };
  return { config: Object.freeze({ ...config, groupSockets: groupSocketPaths(config, groups) }), groups };
}

/** A tick's verbs on group pools (the arbiter runs the same on the main pool); `serving` false: starting, stopping or --drain-delay. */
export function periodicVerbs(supervisors: readonly Supervisor[], serving: boolean): void {
  for (const s of supervisors) {
    s.topUp();
    if (serving) s.checkStuck();
    s.heartbeat();
    if (serving) s.recycleNext();
  }
}

export class GroupPools {
  readonly list: readonly GroupPool[];

  constructor(
    front: Config,
    groups: readonly ProcessGroup[],
    logs: LogWriter,
    hooks: PoolHooks,
    answers: MasterAnswers,
    identity: WorkerIdentity,
  ) {
    const owner = identity.uid !== undefined ? { uid: identity.uid, gid: identity.gid ?? -1 } : undefined;
    const made: GroupPool[] = [];
    try {
      for (const group of groups) {
        const config = groupView(front, group);
        const socket = ListeningSockets.ofPath(front.groupSockets![group.name]!, owner);
        const files = new Set<string>();
        const kinds: string[] = [];
        const account = groupIdentity(identity, group);
        const supervisor = new Supervisor(config, logs, {
          exited: hooks.exited,
          loaded: (messages) => {
            for (const m of messages) for (const f of m.files) files.add(f);
            kinds.splice(0, kinds.length, messages[0]?.kind ?? 'tsgi', ...(messages[0]?.appKinds ?? []));
            hooks.loaded(messages);
          },
        }, answers, socket, account, group.name);
        made.push({ group, config, socket, files, kinds, supervisor, ...(account !== identity ? { user: account.banner } : {}) });
      }
    } catch (err) {
      for (const pool of made) pool.socket.close();
      throw err;
    }
    this.list = made;
  }

  get supervisors(): Supervisor[] {
    return this.list.map((p) => p.supervisor);
  }

  /** Starts every group; rejects with the first group's failure, naming it, once all have settled. */
  async start(): Promise<readonly ReadyMessage[][]> {
    const results = await Promise.allSettled(this.list.map((p) => p.supervisor.start()));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed < 0) return results.map((r) => (r as PromiseFulfilledResult<readonly ReadyMessage[]>).value as ReadyMessage[]);
    await this.kill();
    const err = (results[failed] as PromiseRejectedResult).reason as unknown;
    if (err instanceof Error) err.message = `process group ${this.list[failed]!.group.name}: ${err.message}`;
    throw err;
  }

  /** The groups whose workers loaded any of `files`; all of them when none did (a SIGHUP, a script list). */
  affectedBy(files: readonly string[] | undefined): GroupPool[] {
    if (files === undefined) return [...this.list];
    return this.list.filter((p) => files.some((f) => p.files.has(f) || p.config.scriptPath === f || p.config.apps.some((a) => a.scriptPath === f)));
  }

  announce(phase: ServerPhase): void {
    for (const s of this.supervisors) s.announce(phase);
  }

  async stop(timeout: number): Promise<void> {
    await Promise.all(this.supervisors.map((s) => s.stop(timeout)));
  }

  async kill(): Promise<void> {
    await Promise.all(this.supervisors.map((s) => s.kill()));
  }

  /** The periodic verbs, as for the main pool. */
  tick(serving: boolean): void {
    periodicVerbs(this.supervisors, serving);
  }

  /** The pool a worker belongs to (its exit is reaped there). */
  owning(h: WorkerHandle): Supervisor | undefined {
    return this.supervisors.find((s) => s.owns(h));
  }

  ready(): WorkerHandle[] {
    return this.supervisors.flatMap((s) => s.ready());
  }

  close(): void {
    for (const p of this.list) p.socket.close();
  }
}
