// Serve with:  npx tsgi-express start-server examples/hello.ts
import type { Application } from 'tsgi-express';

export const application: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return ['Hello world!'];
};
