/** Reports of runs (MODEL.md §9): report.html and figure.svg, metrics.csv, and a progress bar. */
export { writeReport, ReportError, type ReportOptions } from './runReport';
export type { ReportRun } from './data';
export { ReportRenderError } from './render';
export {
  metricsCsv,
  metricsCsvRow,
  parseMetricsCsv,
  MetricsCsvError,
  METRICS_CSV_COLUMNS,
  type MetricsCsvRow,
  type MetricsCsvColumn,
} from './metricsCsv';
export {
  createProgress,
  formatDurationS,
  type Progress,
  type ProgressOptions,
  type ProgressStream,
  type ProgressUpdate,
} from './runProgress';
