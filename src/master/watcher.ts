/**
 * Watches the application's files (chokidar, in the master) and calls back once
 * per burst of changes: an editor's save, a rename-over save or several quick
 * writes give exactly one reload.
 */
import { watch, type FSWatcher } from 'chokidar';

const QUIET_MS = 150;
const MAX_WAIT_MS = 1000;

export class ChangeWatcher {
  private watcher: FSWatcher | undefined;
  private watching: Promise<void> = Promise.resolve();
  private readonly watched = new Set<string>();
  private quietTimer: NodeJS.Timeout | undefined;
  private firstChange = 0;
  private changed = new Set<string>();

  constructor(private readonly onChange: (files: string[]) => void) {}

  /**
   * Adds files to the watch list. The first call resolves once chokidar has its
   * watches in place (chokidar reports 'ready' only once, for the initial set).
   */
  async add(files: Iterable<string>): Promise<void> {
    const fresh = [...files].filter((f) => !this.watched.has(f));
    for (const f of fresh) this.watched.add(f);
    if (this.watcher) this.watcher.add(fresh);
    else if (fresh.length > 0) this.start(fresh);
    await this.watching;
  }

  private start(files: string[]): void {
    const watcher = watch(files, { ignoreInitial: true, atomic: true, persistent: true });
    this.watcher = watcher;
    for (const event of ['change', 'add', 'unlink'] as const) {
      watcher.on(event, (file: string) => this.note(file));
    }
    this.watching = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  get files(): readonly string[] {
    return [...this.watched];
  }

  async close(): Promise<void> {
    clearTimeout(this.quietTimer);
    await this.watcher?.close();
  }

  private note(file: string): void {
    if (this.changed.size === 0) this.firstChange = performance.now();
    this.changed.add(file);
    clearTimeout(this.quietTimer);
    const waited = performance.now() - this.firstChange;
    this.quietTimer = setTimeout(() => this.fire(), Math.max(0, Math.min(QUIET_MS, MAX_WAIT_MS - waited)));
  }

  private fire(): void {
    const files = [...this.changed];
    this.changed.clear();
    this.onChange(files);
  }
}
