/** The URL Chrome DevTools opens for an inspector's WebSocket URL (what `chrome://inspect` links to). */
export function devtoolsUrl(wsUrl: string): string {
  return `devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=${wsUrl.replace(/^ws:\/\//, '')}`;
}
