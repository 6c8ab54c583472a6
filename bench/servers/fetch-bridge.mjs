// The bare baseline for the fetch interface: the least a Node server must do to
// serve a fetch app — build a Request (URL, Headers, streamed body) from node:http,
// call fetch(), copy the Response's status, headers and body back. No abort signal,
// no environ, no error pages: what tsgi-express adds on top is what is measured.
import { Readable } from 'node:stream';
import { serve } from './cluster.mjs';

function toRequest(req) {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  const init = { method: req.method, headers };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    init.body = Readable.toWeb(req);
    init.duplex = 'half';
  }
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url}`, init);
}

async function writeResponse(response, res) {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) res.setHeader(name, value);
  if (response.body === null) return void res.end();
  for await (const chunk of response.body) res.write(chunk);
  res.end();
}

serve(async () => {
  const app = (await import('../apps/fetch-hello.mjs')).default;
  return (req, res) => {
    Promise.resolve(app.fetch(toRequest(req)))
      .then((response) => writeResponse(response, res))
      .catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
  };
});
