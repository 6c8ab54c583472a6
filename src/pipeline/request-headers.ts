/**
 * Editing a request's headers in place, so that every interface sees the same
 * result: the environ and the fetch Request are built from req.rawHeaders, node
 * apps read req.headers, and the two must not disagree.
 */
import type { IncomingMessage } from 'node:http';

/**
 * Rewrites the headers: `edit` gets each (raw name, value) and returns the value
 * to keep, or undefined to drop that line; `extra` lines are appended. Names
 * whose lines changed are rebuilt in req.headers from what was kept.
 */
export function rewriteRequestHeaders(
  req: IncomingMessage,
  edit: (name: string, value: string) => string | undefined,
  extra: readonly (readonly [string, string])[] = [],
): void {
  // Node builds req.headers lazily from rawHeaders and the count it parsed (Node 26
  // reads that many entries): build it before rawHeaders changes, then keep the two in step.
  const headers = req.headers;
  const raw = req.rawHeaders;
  const kept: string[] = [];
  const touched = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = edit(name, raw[i + 1]!);
    if (value !== raw[i + 1]) touched.add(name.toLowerCase());
    if (value !== undefined) kept.push(name, value);
  }
  for (const [name, value] of extra) {
    kept.push(name, value);
    touched.add(name.toLowerCase());
  }
  if (touched.size === 0) return;
  raw.length = 0;
  raw.push(...kept);
  for (const name of touched) delete headers[name];
  for (let i = 0; i < kept.length; i += 2) {
    const name = kept[i]!.toLowerCase();
    if (!touched.has(name)) continue;
    const previous = headers[name];
    headers[name] = previous === undefined ? kept[i + 1]! : `${String(previous)}, ${kept[i + 1]!}`;
  }
}
