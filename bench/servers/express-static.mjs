// express.static on its own node:cluster: how an Express app serves files itself.
// STATIC_DIR is the directory the harness wrote (lib/static-files.mjs).
import express from 'express';
import { serve } from './cluster.mjs';

serve(() => {
  const app = express();
  app.use(express.static(process.env.STATIC_DIR));
  return app;
});
