// One site of examples/mass-hosting: served at /hello while this directory exists.
import type { Application } from 'tsgi-express';

export const application: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return [`Hello from the site at ${environ.SCRIPT_NAME}, asked for ${environ.PATH_INFO}`];
};
