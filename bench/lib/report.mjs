// Turns the per-cell medians into the Markdown tables printed and written to
// bench/RESULTS.md. Ratios are to the scenario's first server (the bare cluster)
// measured in the same run; "vs pair" is to the same app served bare.
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const mb = (kb) => (kb > 0 ? (kb / 1024).toFixed(1) : '-');

export function scenarioTable(scenario, cells, servers) {
  const base = cells[scenario.servers[0]];
  const rows = [
    '| Server | req/s | ratio | p50 ms | p99 ms | p99 ratio | errors | peak RSS tree MB | RSS ratio | master MB | max worker MB | vs pair (req/s) | other CPU % |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const name of scenario.servers) {
    const c = cells[name];
    if (!c) continue;
    const pair = servers[name].pair && cells[servers[name].pair];
    rows.push(
      `| ${name} | ${f0(c.rps)} | ${f2(c.rps / base.rps)} | ${f2(c.p50Ms)} | ${f2(c.p99Ms)} | ${f2(c.p99Ms / base.p99Ms)} | ${c.errors} | ` +
        `${mb(c.totalKb)} | ${f2(c.totalKb / base.totalKb)} | ${mb(c.leaderKb)} | ${mb(c.workerKb || c.leaderKb)} | ` +
        `${pair ? f2(c.rps / pair.rps) : ''} | ${Math.round(c.foreign * 100)} |`,
    );
  }
  return rows.join('\n');
}
