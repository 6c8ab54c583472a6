// Serve with:  npx tsgi-express start-server examples/express.ts
// An Express app, unchanged except that it is exported instead of listening:
// `export default app` replaces `app.listen(3000)`. Below a mount point
// (--mount-point /shop) Express sees req.url relative to it, as for a sub-app.
import express from 'express';
import type {} from 'tsgi-express'; // declares req.environ and req.originalUrl

const app = express();

app.use(express.json());

app.get('/', (req, res) => {
  res.send(`Hello from Express! Mounted at ${req.environ?.SCRIPT_NAME || '/'}, you asked for ${req.originalUrl}`);
});

app.get('/items/:id', (req, res) => {
  res.json({ id: req.params.id });
});

app.post('/items', (req, res) => {
  res.status(201).json({ created: req.body });
});

export default app;
