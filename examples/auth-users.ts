// Used with:  npx tsgi-express start-server examples/auth-express.ts --auth-user-script examples/auth-users.ts
// An --auth-user-script: checkPassword(environ, user, password) for Basic.
// Return true (authenticated as `user`), false or null (401), or another name for
// the user (it becomes REMOTE_USER). A real one would look the user up in a
// database or a directory; compare secrets with crypto.timingSafeEqual.
import { timingSafeEqual } from 'node:crypto';

const USERS: Record<string, { password: string; name: string }> = {
  spy: { password: 'secret', name: 'grumpy' },
  admin: { password: 'change me', name: 'admin' },
};

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function checkPassword(environ: Record<string, unknown>, user: string, password: string): boolean | string | null {
  const known = USERS[user];
  if (!known) return null;
  if (!same(password, known.password)) return false;
  return known.name === user ? true : known.name;
}
