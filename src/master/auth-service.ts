/**
 * The master's part in access control: it makes the key Digest nonces are signed
 * with (one per server run, so a nonce from one worker verifies in every other
 * and in later generations), keeps the ledger of (nonce, nc) pairs already used
 * (auth-nonce-ledger.ts), answering the workers' `auth-state` and `auth-claim`
 * questions (arbiter.ts's answer table), and owns the password files: it reads them, watches
 * them, and hands each worker the last version that parsed. A changed file is
 * re-read in place, without a reload: the master checks the new text first, so
 * a file saved with a bad line is logged and the previous version stays in force
 * (in running workers, and in any worker started later).
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { parseHtdigest, parseHtpasswd, PasswordFileError } from '../auth/password-file.js';
import type { AuthFilesMessage, AuthState, NonceClaim } from '../ipc/messages.js';
import type { Log } from '../logging/log.js';
import { NonceLedger } from './auth-nonce-ledger.js';
import { ChangeWatcher } from './watcher.js';

interface PasswordFile {
  readonly flag: 'auth-user-file' | 'auth-digest-file';
  readonly path: string;
  readonly parse: (text: string) => unknown;
  text: string;
}

/** The file's text if it parses; throws saying which line does not. */
function readChecked(file: PasswordFile): string {
  const text = readFileSync(file.path, 'utf8');
  file.parse(text);
  return text;
}

export class AuthService {
  private readonly key = randomBytes(32).toString('base64');
  private readonly ledger: NonceLedger;
  private readonly files: PasswordFile[] = [];
  private watcher: ChangeWatcher | undefined;

  /** Undefined when no option needs the master (no users to check, or a Basic script only). */
  static create(config: Config, log: Log): AuthService | undefined {
    const digest = config.authType === 'Digest' && (config.authUserScript || config.authDigestFile);
    if (!digest && !config.authUserFile) return undefined;
    return new AuthService(config, log);
  }

  private constructor(
    config: Config,
    private readonly log: Log,
  ) {
    this.ledger = new NonceLedger(config.authNonceLifetime * 1000);
    if (config.authUserFile) this.files.push({ flag: 'auth-user-file', path: config.authUserFile, parse: parseHtpasswd, text: '' });
    if (config.authDigestFile) this.files.push({ flag: 'auth-digest-file', path: config.authDigestFile, parse: parseHtdigest, text: '' });
    for (const file of this.files) {
      try {
        file.text = readChecked(file);
      } catch (err) {
        // The parse process checked it a moment ago; it changed since.
        throw new UsageError(`--${file.flag} ${file.path}: ${(err as Error).message}`);
      }
    }
  }

  /** The answer to a worker's `auth-state` question. */
  state(): AuthState {
    return { key: this.key, ...this.fileTexts() };
  }

  /** The answer to a worker's `auth-claim` question. */
  claim({ nonce, nc, issuedAt }: { nonce: string; nc: string; issuedAt: number }): NonceClaim {
    return this.ledger.claim(nonce, nc, issuedAt);
  }

  private fileTexts(): Omit<AuthFilesMessage, 't'> {
    const texts: { userFile?: string; digestFile?: string } = {};
    for (const file of this.files) texts[file.flag === 'auth-user-file' ? 'userFile' : 'digestFile'] = file.text;
    return texts;
  }

  /** Watches the password files (whatever --disable-reloading says: they are data, not code); `changed` queues a reread. */
  async watch(changed: () => void): Promise<void> {
    if (this.files.length === 0) return;
    this.watcher = new ChangeWatcher(changed);
    await this.watcher.add(this.files.map((f) => f.path));
  }

  /** Re-reads every password file; hands the workers those that changed and parse. */
  reread(): void {
    let changed = false;
    for (const file of this.files) {
      let text: string;
      try {
        text = readChecked(file);
      } catch (err) {
        const why = err instanceof PasswordFileError ? err.message : (err as Error).message;
        this.log.error(`--${file.flag} ${file.path} changed but cannot be used (${why}); the previous version stays in force`);
        continue;
      }
      if (text === file.text) continue;
      file.text = text;
      changed = true;
      this.log.info(`--${file.flag} ${file.path} re-read`);
    }
    if (!changed) return;
    const message: AuthFilesMessage = { t: 'auth-files', ...this.fileTexts() };
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send(message);
    }
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }
}
