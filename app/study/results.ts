/** A finished run of a study, read back from its folder: summary.json and metrics.csv. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetricsCsv, type MetricsCsvRow } from '../report';
import type { StudyRun } from './plan';

export interface RunResult {
  run: StudyRun;
  /** summary.json as written (its numeric fields are the run's figures). */
  summary: Record<string, unknown>;
  rounds: MetricsCsvRow[];
}

/** Reads a finished run's summary and per-round metrics. */
export function readRunResult(run: StudyRun, dir: string): RunResult {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  const rounds = parseMetricsCsv(readFileSync(join(dir, 'metrics.csv'), 'utf8'));
  return { run, summary, rounds };
}

/** Summary fields that are not figures of the run (keys, or the wall clock, which is not reproducible). */
const NOT_FIGURES = new Set(['seed', 'wallS']);

/** The run figures a study tabulates: the numeric fields of summary.json, in the order first seen. */
export function figuresOf(results: readonly RunResult[]): string[] {
  const figures = new Set<string>();
  for (const r of results) for (const [k, v] of Object.entries(r.summary)) if (typeof v === 'number' && !NOT_FIGURES.has(k)) figures.add(k);
  return [...figures];
}

/** A figure of a run as a number (NaN when the run lacks it). */
export function figure(result: RunResult, name: string): number {
  const v = result.summary[name];
  return typeof v === 'number' ? v : Number.NaN;
}
