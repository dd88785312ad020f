/** CSV text that pandas and R read as is: a header, RFC 4180 quoting, numbers in shortest round-trip form, NaN for missing, Inf and -Inf. */

export type Cell = string | number;

function cell(value: Cell): string {
  if (typeof value === 'number')
    return Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Inf' : value === -Infinity ? '-Inf' : String(value);
  return /[",\n\r]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The CSV text of a table. */
export function toCsv(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [columns, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}
