// A Fastify hello world, served by tsgi-express (it readies the instance and serves
// its router) and on its own cluster (bench/servers/fastify-cluster.mjs).
import Fastify from 'fastify';

const app = Fastify();
app.get('/', async (request, reply) => {
  reply.type('text/plain');
  return 'Hello world!';
});

export default app;
