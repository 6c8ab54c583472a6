/**
 * The worker's side of access control's conversation with the master
 * (master/auth-service.ts), on the master's correlated request/reply
 * (worker/master-channel.ts): the state at start, a Digest nonce claim per
 * request, and the password files the master pushes when they change (the
 * `auth-files` row of the worker's message table delivers them here).
 */
import type { AuthFilesMessage, AuthState, NonceClaim } from '../ipc/messages.js';
import type { NonceLedger } from '../pipeline/authenticate.js';
import { askMaster } from './master-channel.js';

/** A master that does not answer in this time is gone or wedged: the request gets 503, not a hang. */
const ANSWER_TIMEOUT_MS = 5_000;

export class MasterLink implements NonceLedger {
  private onFiles: ((m: AuthFilesMessage) => void) | undefined;
  /** A version that arrived before anyone listened (while the worker was starting): given to the first listener. */
  private latestFiles: AuthFilesMessage | undefined;

  state(): Promise<AuthState> {
    return askMaster('auth-state', undefined, ANSWER_TIMEOUT_MS);
  }

  claim(nonce: string, nc: string, issuedAt: number): Promise<NonceClaim> {
    return askMaster('auth-claim', { nonce, nc, issuedAt }, ANSWER_TIMEOUT_MS);
  }

  /** Called with each new version of the password files. */
  filesChanged(handler: (m: AuthFilesMessage) => void): void {
    this.onFiles = handler;
    if (this.latestFiles) handler(this.latestFiles);
    this.latestFiles = undefined;
  }

  /** From the worker's message table. */
  deliver(message: AuthFilesMessage): void {
    if (this.onFiles) this.onFiles(message);
    else this.latestFiles = message;
  }
}

/** The worker's one link: the message table delivers to it, the access-control stages ask through it. */
export const masterLink = new MasterLink();
