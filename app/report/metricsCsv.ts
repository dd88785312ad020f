/**
 * metrics.csv: one row per round (INTERFACE.md, "What a run writes in its output
 * folder"; MODEL.md §9). Written by a run, read back by `resume`.
 */
import type { RoundMetrics } from '../metrics';

/** The columns of metrics.csv, in order. */
export const METRICS_CSV_COLUMNS = [
  'round',
  'admitted',
  'latencyS',
  'energyJ',
  'meanQueue',
  'maxQueue',
  'penalty',
  'trainLoss',
  'testAccuracy',
  'virtualTimeS',
  'wallS',
  'activationsBits',
  'featuresBits',
  'gradientsBits',
  'headsBits',
  'failures',
] as const;

export type MetricsCsvColumn = (typeof METRICS_CSV_COLUMNS)[number];

/**
 * One row of metrics.csv: a round reduced to numbers. `admitted` and `failures`
 * are counts; `energyJ` is the total energy of the round over the admitted devices.
 */
export type MetricsCsvRow = Record<MetricsCsvColumn, number>;

/** Named error for a metrics.csv that cannot be read, with the line and column at fault. */
export class MetricsCsvError extends Error {
  override readonly name = 'MetricsCsvError';
  constructor(
    readonly line: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`metrics.csv line ${line}: ${message}`, options);
  }
}

/** Sum of a record's values in a fixed (sorted-key) order, so the result does not depend on insertion order. */
function sumValues(record: Record<string, number>): number {
  let total = 0;
  for (const key of Object.keys(record).sort()) total += record[key] ?? 0;
  return total;
}

/** Reduces one round to its metrics.csv row. */
export function metricsCsvRow(m: RoundMetrics): MetricsCsvRow {
  let queueSum = 0;
  let queueMax = 0;
  for (const q of m.queues) {
    queueSum += q;
    if (q > queueMax) queueMax = q;
  }
  return {
    round: m.round,
    admitted: m.admitted.length,
    latencyS: m.latencyS,
    energyJ: sumValues(m.energyJ),
    meanQueue: m.queues.length > 0 ? queueSum / m.queues.length : 0,
    maxQueue: queueMax,
    penalty: m.penalty,
    trainLoss: m.trainLoss,
    testAccuracy: m.testAccuracy,
    virtualTimeS: m.virtualTimeS,
    wallS: m.wallS,
    activationsBits: m.bits.activations,
    featuresBits: m.bits.features,
    gradientsBits: m.bits.gradients,
    headsBits: m.bits.heads,
    failures: Object.keys(m.failures).length,
  };
}

/**
 * metrics.csv text for a run's rounds: the header line, then one line per round.
 * Numbers are written in JavaScript's shortest round-trip form, so
 * `parseMetricsCsv(metricsCsv(r))` gives back exactly `r.map(metricsCsvRow)`.
 */
export function metricsCsv(rounds: readonly RoundMetrics[]): string {
  const lines: string[] = [METRICS_CSV_COLUMNS.join(',')];
  for (const m of rounds) {
    const row = metricsCsvRow(m);
    lines.push(METRICS_CSV_COLUMNS.map((c) => String(row[c])).join(','));
  }
  return lines.join('\n') + '\n';
}

/**
 * Reads metrics.csv rows back (used by `resume`). Columns are found by name, so
 * their order does not matter and extra columns are ignored; every column of
 * METRICS_CSV_COLUMNS must be present. Empty cells read as NaN. Throws
 * MetricsCsvError naming the line for a missing column, a short row or a cell
 * that is not a number.
 */
export function parseMetricsCsv(text: string): MetricsCsvRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop();
  const headerLine = lines[0];
  if (headerLine === undefined) throw new MetricsCsvError(1, 'empty file: expected a header line');
  const header = headerLine.split(',').map((h) => h.trim());
  const index = new Map<MetricsCsvColumn, number>();
  for (const column of METRICS_CSV_COLUMNS) {
    const at = header.indexOf(column);
    if (at < 0) throw new MetricsCsvError(1, `missing column "${column}"`);
    index.set(column, at);
  }
  const rows: MetricsCsvRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = (lines[i] ?? '').split(',');
    if (cells.length < header.length) {
      throw new MetricsCsvError(i + 1, `expected ${header.length} cells, got ${cells.length}`);
    }
    const row = {} as MetricsCsvRow;
    for (const column of METRICS_CSV_COLUMNS) {
      const cell = (cells[index.get(column) as number] ?? '').trim();
      const value = cell === '' ? Number.NaN : Number(cell);
      if (Number.isNaN(value) && cell !== '' && cell !== 'NaN') {
        throw new MetricsCsvError(i + 1, `column "${column}" is not a number: "${cell}"`);
      }
      row[column] = value;
    }
    rows.push(row);
  }
  return rows;
}
