/**
 * The default server root, shared by the command line (which names it) and the
 * master (which renames it once --port 0 has become a real port). Kept apart
 * from resolve.ts so the master does not load the schema library to compute it.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';

/** mod_wsgi-express writes SERVER_ROOT/httpd.pid whether asked or not; so do we, under our name. */
export function pidFilePath(config: { pidFile?: string | undefined; serverRoot: string }): string {
  return config.pidFile ?? path.join(config.serverRoot, 'tsgi-express.pid');
}

/** mod_wsgi-express's default: $TMPDIR/tsgi-express-HOST:PORT:UID. */
export function defaultServerRoot(ctx: { env: NodeJS.ProcessEnv; uid: number }, serverName: string, port: number): string {
  return path.join(ctx.env.TMPDIR || tmpdir(), `tsgi-express-${serverName}:${port}:${ctx.uid}`);
}
