/**
 * A Chrome DevTools Protocol client over a real WebSocket (undici's), as Chrome
 * DevTools and VS Code speak to Node's inspector: commands with ids, answers and
 * events. Only what the debugger tests need.
 */
import { WebSocket } from 'undici';

export interface CdpEvent {
  readonly method: string;
  readonly params: any;
}

export class Cdp {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
  private readonly events: CdpEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (m) => {
      const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: unknown };
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${msg.error.message}`));
        else p?.resolve(msg.result);
        return;
      }
      this.events.push({ method: msg.method!, params: msg.params });
      for (const w of this.waiters) w();
    });
    ws.addEventListener('close', () => {
      this.closed = true;
      for (const w of this.waiters) w();
    });
  }

  /** Connects to the inspector's WebSocket URL (ws://127.0.0.1:PORT/UUID). */
  static async connect(url: string, timeoutMs = 10_000): Promise<Cdp> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket connection to ${url} within ${timeoutMs} ms`)), timeoutMs);
      ws.addEventListener('open', () => (clearTimeout(timer), resolve()));
      ws.addEventListener('error', () => (clearTimeout(timer), reject(new Error(`WebSocket to ${url} failed`))));
    });
    return new Cdp(ws);
  }

  /** The WebSocket URL of the first target the inspector lists at /json/list, as VS Code finds it. */
  static async targetUrl(port: number): Promise<string> {
    const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
    return list[0]!.webSocketDebuggerUrl;
  }

  send<T = any>(method: string, params: object = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** The first event named `method` (and matching `test`) not yet taken, waiting for it if need be. */
  next(method: string, test: (params: any) => boolean = () => true, timeoutMs = 15_000): Promise<CdpEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const at = this.events.findIndex((e) => e.method === method && test(e.params));
        if (at >= 0) return done(() => resolve(this.events.splice(at, 1)[0]!));
        if (this.closed) done(() => reject(new Error(`connection closed before ${method}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${method} within ${timeoutMs} ms`))), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Events of `method` received and not taken so far. */
  seen(method: string): CdpEvent[] {
    return this.events.filter((e) => e.method === method);
  }

  close(): void {
    this.ws.close();
  }
}
