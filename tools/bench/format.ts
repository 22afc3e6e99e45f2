/**
 * Text formatting for the benchmark's report: Markdown tables (so a run can be pasted into docs/contributing/performance.md
 * as is), durations, sizes and ratios.
 */

export type Alignment = 'left' | 'right';

export interface TableColumn {
  readonly header: string;
  /** @default 'left' */
  readonly align?: Alignment;
}

/**
 * A Markdown table, padded so it also reads well in a terminal. Cells are single-line: a `|` in a cell
 * is escaped and line breaks become spaces. Rows shorter than the header are padded with empty cells;
 * longer rows are an error.
 */
export function formatTable(columns: readonly TableColumn[], rows: readonly (readonly string[])[]): string {
  if (columns.length === 0) throw new RangeError('a table needs at least one column');
  const clean = (cell: string) => cell.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  const body = rows.map((row, index) => {
    if (row.length > columns.length) {
      throw new RangeError(`row ${index} has ${row.length} cells for ${columns.length} columns`);
    }
    return columns.map((_, column) => clean(row[column] ?? ''));
  });
  const headers = columns.map((column) => clean(column.header));
  // A Markdown rule needs at least three characters (`---` or `--:`).
  const widths = columns.map((_, column) =>
    Math.max(3, headers[column]?.length ?? 0, ...body.map((row) => row[column]?.length ?? 0)),
  );
  const pad = (text: string, column: number) => {
    const width = widths[column] ?? 3;
    return columns[column]?.align === 'right' ? text.padStart(width) : text.padEnd(width);
  };
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => pad(cell, column)).join(' | ')} |`;
  const rule = `| ${widths
    .map((width, column) =>
      columns[column]?.align === 'right' ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width),
    )
    .join(' | ')} |`;
  return [line(headers), rule, ...body.map(line)].join('\n');
}

/** Milliseconds with a precision that suits the size: `0.42 ms`, `12.3 ms`, `250 ms`, `1.52 s`; `—` when unknown. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (Math.abs(ms) >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (Math.abs(ms) >= 100) return `${ms.toFixed(0)} ms`;
  if (Math.abs(ms) >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A file size in decimal units with the exact count: `1,604.6 kB (1,604,607 B)` (1 kB = 1000 B). */
export function formatBytes(bytes: number): string {
  const exact = `${Math.round(bytes).toLocaleString('en-US')} B`;
  if (bytes >= 1000) {
    const kilobytes = (bytes / 1000).toLocaleString('en-US', {
      minimumFractionDigits: 1,
      maximumFractionDigits: 1,
    });
    return `${kilobytes} kB (${exact})`;
  }
  return exact;
}

/** Memory in mebibytes, as Lambda counts its memory size ("128 MB" is 128 MiB): `84.3 MiB`. */
export function formatMebibytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '—';
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** A ratio such as `1.07×`; `—` when the denominator is zero or either side unknown. */
export function formatRatio(numerator: number | undefined, denominator: number | undefined): string {
  if (numerator === undefined || denominator === undefined || denominator === 0) return '—';
  const ratio = numerator / denominator;
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—';
}

/** `PASS` or `FAIL`. */
export function formatVerdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}

/** `3` when every count is the same, else `3–5 (median 3)`; `—` for none. */
export function describeCounts(counts: readonly number[]): string {
  if (counts.length === 0) return '—';
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  if (min === max) return String(min);
  const sorted = [...counts].sort((a, b) => a - b);
  return `${min}–${max} (median ${sorted[Math.floor((sorted.length - 1) / 2)]})`;
}
