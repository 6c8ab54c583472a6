// Serve with:  npx tsgi-express start-server examples/auth-express.ts --auth-user-script examples/auth-users.ts --auth-location /admin
// Express behind the server's authentication: requests under /admin reach the app
// only with good credentials, and req.remoteUser names the user (req.authType
// says Basic or Digest). Elsewhere req.remoteUser is undefined.
import express from 'express';
import type {} from 'tsgi-express'; // declares req.remoteUser, req.authType and req.environ

const app = express();

app.get('/', (req, res) => {
  res.json({ page: 'public', user: req.remoteUser ?? null });
});

app.get('/admin', (req, res) => {
  res.json({ page: 'admin', user: req.remoteUser, via: req.authType });
});

export default app;
