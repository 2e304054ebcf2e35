/**
 * Rows of the bench: a figure, the baseline it was measured against in the same run, the
 * ratio, the target and whether it holds; printed as a table and written as JSON.
 */

/**
 * One row. `value` and `baseline` are summaries (median, min, max). The ratio is
 * value/baseline for times (lower is better) or as given in `ratio`. `target` says which
 * figure is checked: { on: 'ratio'|'value'|'max', op: '<='|'>=', limit, text }.
 */
export function makeRow({ id, label, unit, value, baseline, baselineLabel, ratio, target, note }) {
  const r = ratio !== undefined ? ratio : baseline ? value.median / baseline.median : null;
  let pass = null;
  let checked = null;
  if (target) {
    checked = target.on === 'ratio' ? r : target.on === 'max' ? value.max : value.median;
    pass = checked === null || Number.isNaN(checked) ? null : target.op === '<=' ? checked <= target.limit : checked >= target.limit;
  }
  return {
    id,
    label,
    unit,
    median: value.median,
    min: value.min,
    max: value.max,
    runs: value.runs,
    samples: value.samples,
    baseline: baseline
      ? { label: baselineLabel, median: baseline.median, min: baseline.min, max: baseline.max, runs: baseline.runs, samples: baseline.samples }
      : null,
    ratio: r,
    target: target ? { ...target } : null,
    checked,
    pass,
    ...(note ? { note } : {}),
  };
}

export function errorRow(id, label, error) {
  return { id, label, error: error instanceof Error ? error.message.split('\n').slice(0, 3).join(' | ') : String(error), pass: false };
}

function num(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  if (unit === 'ms') return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
  if (unit === 'MB' || unit === 'MB/s') return `${value.toFixed(value >= 100 ? 0 : 1)} ${unit}`;
  if (unit === '/s') return `${Math.round(value)}/s`;
  if (unit === 'x') return `${value.toFixed(2)}×`;
  return `${value.toFixed(2)}${unit ? ` ${unit}` : ''}`;
}

function spread(s, unit) {
  if (s.runs === 1 || s.min === undefined) return num(s.median, unit);
  const bare = (v) => num(v, unit).replace(/ (ms|s|MB|MB\/s)$/, '');
  return `${num(s.median, unit)} (${bare(s.min)}–${bare(s.max)})`;
}

/** The table as text: one line a row, notes after it. */
export function formatTable(rows) {
  const header = ['measure', 'median (min–max)', 'baseline: median (min–max)', 'ratio', 'target', 'result'];
  const lines = rows.map((row) => {
    if (row.error) return [row.label, 'ERROR', '', '', '', 'ERROR'];
    const base = row.baseline ? `${row.baseline.label}: ${spread(row.baseline, row.unit)}` : '-';
    return [
      row.label,
      spread(row, row.unit),
      base,
      row.ratio === null ? '-' : `${row.ratio.toFixed(2)}×`,
      row.target ? row.target.text : '-',
      row.pass === null ? '-' : row.pass ? 'PASS' : 'MISS',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const out = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const l of lines) out.push(fmt(l));
  const notes = rows.filter((r) => r.note || r.error);
  if (notes.length > 0) {
    out.push('');
    for (const r of notes) out.push(`- ${r.label}: ${r.error ?? r.note}`);
  }
  return out.join('\n');
}
