// Serve with:  npx tsgi-express start-server examples/koa.ts
// A Koa app, unchanged except that it is exported instead of listening:
// `export default app` replaces `app.listen(3000)`. tsgi-express calls app.callback().
import Koa from 'koa';

const app = new Koa();

app.use(async (ctx, next) => {
  const started = performance.now();
  await next();
  ctx.set('X-Response-Time', `${(performance.now() - started).toFixed(1)}ms`);
});

app.use((ctx) => {
  ctx.body = { hello: 'from Koa', path: ctx.path, method: ctx.method };
});

export default app;
