/**
 * The study's tables (README "Studies"): runs.csv, rounds.csv, summary.csv and paired.csv, as
 * columns and rows. Grid values appear under their readable labels, one column per grid field
 * named as in the study file.
 */
import { METRICS_CSV_COLUMNS } from '../report';
import type { StudyPlan } from './plan';
import { figure, figuresOf, type RunResult } from './results';
import { pairedInterval, tInterval } from './stats';
import type { Cell } from './csvText';

export interface Table {
  columns: string[];
  rows: Cell[][];
}

/** The grid field that holds the scheduling policy, compared pairwise in paired.csv. */
export const POLICY_FIELD = 'scheduler.policy';

function keys(r: RunResult): Cell[] {
  return [r.run.id, ...r.run.cell.map((g) => g.label), r.run.seed];
}

/** One row per run: its keys, every figure of its summary, its log hash and wall time. */
export function runsTable(plan: StudyPlan, results: readonly RunResult[]): Table {
  const figures = figuresOf(results);
  return {
    columns: ['run', ...plan.fields, 'seed', ...figures, 'logHash', 'wallS'],
    rows: results.map((r) => [...keys(r), ...figures.map((f) => figure(r, f)), String(r.summary.logHash ?? ''), figure(r, 'wallS')]),
  };
}

/** One row per run and round (long format): the run's keys, `round`, and every column of its metrics.csv. */
export function roundsTable(plan: StudyPlan, results: readonly RunResult[]): Table {
  const metrics = METRICS_CSV_COLUMNS.filter((c) => c !== 'round');
  return {
    columns: ['run', ...plan.fields, 'seed', 'round', ...metrics],
    rows: results.flatMap((r) => r.rounds.map((m) => [...keys(r), m.round, ...metrics.map((c) => m[c])])),
  };
}

/** The results grouped by grid cell, in grid order. */
function byCell(results: readonly RunResult[]): RunResult[][] {
  const cells = new Map<number, RunResult[]>();
  for (const r of [...results].sort((a, b) => a.run.cellIndex - b.run.cellIndex))
    cells.set(r.run.cellIndex, [...(cells.get(r.run.cellIndex) ?? []), r]);
  return [...cells.values()];
}

/** One row per grid cell and figure: n, mean, sd and the 95% Student t interval across seeds. */
export function summaryTable(plan: StudyPlan, results: readonly RunResult[]): Table {
  const figures = figuresOf(results);
  const rows: Cell[][] = [];
  for (const runs of byCell(results)) {
    const labels = (runs[0] as RunResult).run.cell.map((g) => g.label);
    for (const f of figures) {
      const s = tInterval(runs.map((r) => figure(r, f)));
      rows.push([...labels, f, s.n, s.mean, s.sd, s.ciLow, s.ciHigh]);
    }
  }
  return { columns: [...plan.fields, 'figure', 'n', 'mean', 'sd', 'ciLow', 'ciHigh'], rows };
}

/**
 * For each pair of policies (in grid order) within each setting of the other grid fields, and each
 * figure: the mean of policyA − policyB over their common seeds and its 95% paired t interval.
 * Without a policy field in the grid, no rows.
 */
export function pairedTable(plan: StudyPlan, results: readonly RunResult[]): Table {
  const at = plan.fields.indexOf(POLICY_FIELD);
  const others = plan.fields.filter((_, i) => i !== at);
  const columns = [...others, 'policyA', 'policyB', 'figure', 'n', 'meanDifference', 'sd', 'ciLow', 'ciHigh'];
  if (at < 0) return { columns, rows: [] };
  const figures = figuresOf(results);
  // Group by the other fields' labels, then by policy label (grid order is kept by Map insertion).
  const groups = new Map<string, { labels: string[]; policies: Map<string, RunResult[]> }>();
  for (const r of [...results].sort((a, b) => a.run.cellIndex - b.run.cellIndex)) {
    const labels = r.run.cell.filter((_, i) => i !== at).map((g) => g.label);
    const key = JSON.stringify(labels);
    const group = groups.get(key) ?? { labels, policies: new Map<string, RunResult[]>() };
    groups.set(key, group);
    const policy = (r.run.cell[at] as { label: string }).label;
    group.policies.set(policy, [...(group.policies.get(policy) ?? []), r]);
  }
  const rows: Cell[][] = [];
  for (const { labels, policies } of groups.values()) {
    const names = [...policies.keys()];
    for (let i = 0; i < names.length; i++)
      for (let j = i + 1; j < names.length; j++) {
        const a = policies.get(names[i] as string) as RunResult[];
        const b = policies.get(names[j] as string) as RunResult[];
        for (const f of figures) {
          const bySeed = (runs: RunResult[]) => new Map(runs.map((r) => [r.run.seed, figure(r, f)]));
          const d = pairedInterval(bySeed(a), bySeed(b));
          rows.push([...labels, names[i] as string, names[j] as string, f, d.n, d.mean, d.sd, d.ciLow, d.ciHigh]);
        }
      }
  }
  return { columns, rows };
}
