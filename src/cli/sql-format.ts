export type OutputFormat = 'table' | 'csv' | 'json';

const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Rows as an aligned text table, CSV (RFC 4180 quoting) or JSON lines; at most `maxRows`. */
export function formatRows(rows: readonly Record<string, unknown>[], format: OutputFormat, maxRows: number): string {
  const shown = rows.slice(0, maxRows);
  if (format === 'json') return shown.map((r) => `${JSON.stringify(r)}\n`).join('');
  const columns = [...new Set(shown.flatMap((r) => Object.keys(r)))];
  if (format === 'csv') {
    const cell = (v: unknown) => {
      const s = text(v);
      return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
    };
    return [columns.map(cell).join(','), ...shown.map((r) => columns.map((c) => cell(r[c])).join(','))].map((l) => `${l}\n`).join('');
  }
  if (columns.length === 0) return '(no rows)\n';
  const cells = shown.map((r) => columns.map((c) => (r[c] === null ? 'NULL' : text(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}
