// Serve with:  npx tsgi-express start-server examples/auth-koa.ts --auth-user-script examples/auth-users.ts
// Koa behind the server's authentication: the user is on Node's request, ctx.req.remoteUser.
import Koa from 'koa';
import type {} from 'tsgi-express'; // declares req.remoteUser and req.authType

const app = new Koa();

app.use((ctx) => {
  ctx.body = { user: ctx.req.remoteUser, via: ctx.req.authType };
});

export default app;
