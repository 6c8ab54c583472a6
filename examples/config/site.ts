// npx tsgi-express start-server --config examples/config/site.ts
import { defineConfig } from 'tsgi-express';

export default defineConfig({
  script: '../environ.ts',
  processes: 2,
  mountPoint: '/env',
  setenv: { GREETING: `hello from ${process.env.DEPLOY_STAGE ?? 'TypeScript'}` },
});
