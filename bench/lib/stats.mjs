// Small helpers for summarising rounds.
export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function max(values) {
  return values.reduce((a, b) => Math.max(a, b), 0);
}

/** `52% / 48%`: each count's share of their sum. */
export function shares(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => `${((100 * c) / total).toFixed(0)}%`).join(' / ');
}
