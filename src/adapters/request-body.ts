/**
 * The fetch Request body: a ReadableStream fed from the IncomingMessage, with
 * backpressure (the socket is paused while the app is not reading). Owning the
 * stream lets the server discard what the app left unread once the response is
 * complete; otherwise the client would stall sending it and the keep-alive
 * connection with it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much may wait in the stream before the socket is paused. */
const HIGH_WATER_BYTES = 64 * 1024;

export function requestBody(req: IncomingMessage, res: ServerResponse): ReadableStream<Uint8Array> {
  /** The stream is closed or errored: nothing more goes into it. */
  let settled = false;
  /** The app is done with the body (cancelled it, or its response is complete): drop what arrives. */
  let discarding = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const onData = (chunk: Buffer) => {
    if (settled || discarding) return;
    controller.enqueue(chunk);
    if ((controller.desiredSize ?? 0) <= 0) req.pause();
  };
  // Flowing with no one listening: Node reads the rest off the socket and drops it.
  const discard = () => {
    discarding = true;
    if (!req.complete) req.resume();
  };
  res.once('finish', discard);
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        if (req.listenerCount('data') === 0) {
          req.on('data', onData);
          req.once('end', () => {
            if (settled) return;
            settled = true;
            controller.close();
          });
          // Also after a discard: a body that failed (RequestBodyError) fails a pending read.
          req.once('error', (err) => {
            if (settled) return;
            settled = true;
            controller.error(err);
          });
        }
        req.resume();
      },
      cancel() {
        settled = true;
        discard();
      },
    },
    { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );
}
