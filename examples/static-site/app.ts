// Serve with:
//   npx tsgi-express start-server examples/static-site/app.ts \
//     --document-root examples/static-site/public --directory-index index.html --compress-responses
// The server answers for the files in public/ (/, /css/site.css) before the app is called;
// the app sees only the paths that name no file there (/api/time here).
import type { Application } from 'tsgi-express';

export const application: Application = (environ, startResponse) => {
  if (environ.PATH_INFO === '/api/time') {
    startResponse('200 OK', [['Content-Type', 'application/json']]);
    return [JSON.stringify({ now: new Date().toISOString() })];
  }
  startResponse('404 Not Found', [['Content-Type', 'text/plain; charset=utf-8']]);
  return ['No such page.\n'];
};
