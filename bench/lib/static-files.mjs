// The files the static scenarios serve: a 4 KiB and a 1 MiB file of random bytes,
// written once per run to a temporary directory that every server (tsgi-express's
// --document-root, express.static, nginx) serves as its root.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

let dir;

/** The directory holding 4k.bin and 1m.bin (made on first use, removed at exit). */
export function staticDir() {
  if (dir === undefined) {
    dir = mkdtempSync(join(os.tmpdir(), 'tsgi-bench-static-'));
    writeFileSync(join(dir, '4k.bin'), randomBytes(4 * 1024));
    writeFileSync(join(dir, '1m.bin'), randomBytes(1024 * 1024));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return dir;
}
