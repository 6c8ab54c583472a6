// Serve with:  npx tsgi-express start-server examples/fetch.ts
// A plain fetch handler: `export default { fetch }`, as Bun, Deno and Cloudflare
// Workers accept. The second argument is the TSGI environ; below a mount point
// (--mount-point /api), environ.PATH_INFO is the path the app should route on.
import type { Environ } from 'tsgi-express';

export default {
  async fetch(request: Request, environ: Environ): Promise<Response> {
    if (environ.PATH_INFO === '/events') {
      // Server-sent events: each chunk reaches the client as it is produced.
      const encoder = new TextEncoder();
      let count = 0;
      let timer: ReturnType<typeof setInterval> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          timer = setInterval(() => {
            controller.enqueue(encoder.encode(`data: tick ${++count}\n\n`));
            if (count === 5) {
              clearInterval(timer);
              controller.close();
            }
          }, 500);
        },
        cancel() {
          clearInterval(timer); // the client went away
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }
    if (request.method === 'POST') return Response.json({ youSent: await request.json() });
    return Response.json({ hello: 'world', url: request.url, mountedAt: environ.SCRIPT_NAME || '/' });
  },
};
