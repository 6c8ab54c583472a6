/**
 * Reads /server-status (--server-status) in its three forms at once, for tests
 * that check one figure everywhere it is shown: `?json` parsed, `?auto` as a
 * map of its `Key: value` lines (and its `Worker:` lines), and the HTML page's
 * summary (`<dt>label</dt><dd>value</dd>`) and recycles table (reason, count).
 */
import assert from 'node:assert/strict';
import { request } from 'undici';

export interface StatusForms {
  /** The JSON form as the server sends it (see src/status/status-page.ts). */
  readonly json: any;
  readonly auto: ReadonlyMap<string, string>;
  readonly autoWorkers: readonly string[];
  readonly html: string;
  /** The HTML summary's value for `label` ("Requests per second"). */
  summary(label: string): string | undefined;
  /** The HTML recycles table's count for `reason` ("maximum_requests", "deadlock_timeout (restart)"). */
  count(reason: string): number | undefined;
}

async function body(url: string): Promise<string> {
  const res = await request(url, { reset: true });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, `${url}: ${text}`);
  return text;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `serverUrl` is the server's base URL, ending in `/`. */
export async function readStatus(serverUrl: string): Promise<StatusForms> {
  const [json, autoText, html] = await Promise.all(['?json', '?auto', ''].map((q) => body(`${serverUrl}server-status${q}`)));
  const lines = autoText!.split('\n');
  const auto = new Map(lines.filter((l) => l.includes(': ') && !l.startsWith('Worker: ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)] as const));
  return {
    json: JSON.parse(json!),
    auto,
    autoWorkers: lines.filter((l) => l.startsWith('Worker: ')),
    html: html!,
    summary: (label) => new RegExp(`<dt>${escapeRe(label)}</dt><dd>([^<]*)</dd>`).exec(html!)?.[1],
    count: (reason) => {
      const m = new RegExp(`<tr><td class="text">${escapeRe(reason)}</td><td>(\\d+)</td></tr>`).exec(html!);
      return m ? Number(m[1]) : undefined;
    },
  };
}

/** Reads the status until `ok` holds (bounded); returns the last reading either way. */
export async function readStatusUntil(serverUrl: string, ok: (s: StatusForms) => boolean, ms = 20_000): Promise<StatusForms> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await readStatus(serverUrl);
    if (ok(s) || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
}
