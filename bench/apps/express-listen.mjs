// The bench's Express app as its docs end: app.listen(). Under tsgi-express the
// listen() is captured (reverse port binding); compare bench/apps/express-hello.mjs.
import app from './express-hello.mjs';

app.listen(3000);
