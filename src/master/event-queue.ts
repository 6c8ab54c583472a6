/**
 * The master's queue of events: signal handlers, timers, the file watcher and
 * finished operations only push here; one loop (arbiter.ts) takes them in order
 * and runs the verb for each. So a signal never runs code in the middle of
 * another verb, and one that arrives while the master is busy (starting up,
 * reloading) waits its turn instead of being lost.
 */
export class EventQueue<E> {
  private readonly items: E[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  push(event: E): void {
    if (this.closed) return;
    this.items.push(event);
    this.wake?.();
    this.wake = undefined;
  }

  /** No more events are taken; the loop ends once it has handled what is queued. */
  close(): void {
    this.closed = true;
    this.wake?.();
    this.wake = undefined;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<E> {
    for (;;) {
      const event = this.items.shift();
      if (event !== undefined) {
        yield event;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
