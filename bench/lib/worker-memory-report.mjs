// The worker-memory figures (bench/lib/worker-memory.mjs) as text: no side effects, so
// the targets table can import it.
const MB = 1024;

/** Each server's largest figures over the rounds of one line. */
export function worst(rounds) {
  const out = {};
  for (const round of rounds) {
    for (const [name, r] of Object.entries(round)) {
      const w = (out[name] ??= { ...r });
      w.readyKb = Math.max(w.readyKb, r.readyKb);
      w.peakKb = Math.max(w.peakKb, r.peakKb);
    }
  }
  return out;
}

const mb = (kb) => (kb / MB).toFixed(1);
export const overMb = (kb, base) => `${kb >= base ? '+' : ''}${((kb - base) / MB).toFixed(1)}`;

/** The markdown table: per line and server, ready and peak, and both over the bare worker of the same line. */
export function memoryTable(byNode) {
  const lines = [
    '| Node | server | ready MB | peak MB | ready over bare | peak over bare | worker threads at ready |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const [version, rounds] of byNode) {
    for (const round of rounds) {
      const bare = round['bare-cluster'];
      for (const [name, r] of Object.entries(round)) {
        const vs = bare && name !== 'bare-cluster';
        lines.push(`| ${version} | ${name} | ${mb(r.readyKb)} | ${mb(r.peakKb)} | ${vs ? overMb(r.readyKb, bare.readyKb) : ''} | ${vs ? overMb(r.peakKb, bare.peakKb) : ''} | ${r.threads} |`);
      }
    }
  }
  return lines.join('\n');
}
