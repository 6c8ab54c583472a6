// Turns the per-cell medians into the Markdown tables printed and written to
// bench/RESULTS.md. Ratios are to the scenario's first server (the bare cluster)
// measured in the same run; "vs pair" is to the same app served bare. CPU
// efficiency is the reference's CPU time per request over this server's (1.00:
// as cheap per request as the bare cluster; 0.80: 25% more CPU per request).
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const mb = (kb) => (kb > 0 ? (kb / 1024).toFixed(1) : '-');

export function scenarioTable(scenario, cells, servers) {
  const base = cells[scenario.servers[0]];
  const rows = [
    '| Server | req/s | ratio | p50 ms | p99 ms | p99 ratio | errors | CPU us/req | CPU efficiency | peak RSS tree MB | RSS ratio | master MB | max worker MB | vs pair (req/s) | vs pair (CPU) | other CPU % |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const name of scenario.servers) {
    const c = cells[name];
    if (!c) continue;
    const pair = servers[name].pair && cells[servers[name].pair];
    rows.push(
      `| ${name} | ${f0(c.rps)} | ${f2(c.rps / base.rps)} | ${f2(c.p50Ms)} | ${f2(c.p99Ms)} | ${f2(c.p99Ms / base.p99Ms)} | ${c.errors} | ` +
        `${f1(c.cpuPerReqUs)} | ${f2(base.cpuPerReqUs / c.cpuPerReqUs)} | ` +
        `${mb(c.totalKb)} | ${f2(c.totalKb / base.totalKb)} | ${mb(c.leaderKb)} | ${mb(c.workerKb || c.leaderKb)} | ` +
        `${pair ? f2(c.rps / pair.rps) : ''} | ${pair ? f2(pair.cpuPerReqUs / c.cpuPerReqUs) : ''} | ${Math.round(c.foreign * 100)} |`,
    );
  }
  return rows.join('\n');
}
