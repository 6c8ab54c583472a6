// --auth-user-script for the auth scenario: a trivial synchronous checkPassword,
// so the scenario measures what the server adds (parsing, the scripts' environ, the
// stage), not the check itself.
export function checkPassword(_environ, user, password) {
  return user === 'bench' && password === 'bench';
}
