// Serve with:  npx tsgi-express start-server examples/environ.ts --mount-point /env --setenv GREETING hello
// Shows the TSGI environ of each request as an HTML page.
import type { Application } from 'tsgi-express';

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (Array.isArray(value)) return JSON.stringify(value);
  if (value !== null && typeof value === 'object') return `[object ${value.constructor?.name ?? 'Object'}]`;
  return String(value);
}

export const application: Application = (environ, startResponse) => {
  const rows = Object.keys(environ)
    .sort()
    .map((key) => `<tr><th>${escape(key)}</th><td><code>${escape(describe(environ[key]))}</code></td></tr>`)
    .join('\n');
  startResponse('200 OK', [['Content-Type', 'text/html; charset=utf-8']]);
  return [
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>TSGI environ</title></head>` +
      `<body><h1>TSGI environ</h1><table>\n${rows}\n</table></body></html>\n`,
  ];
};
