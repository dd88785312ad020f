/**
 * The study's report.html, self-contained like a run's (app/report): mean curves with 95%
 * bands across seeds per grid cell, each figure against each numeric grid field with interval
 * bars, and the summary, paired and per-run tables.
 */
import type { MetricsCsvColumn } from '../report';
import { escapeHtml, htmlPage, num } from '../report/html';
import { compactSvg, prefixSvgIds, renderSvg } from '../report/render';
import type { StudyPlan } from './plan';
import { figure, figuresOf, type RunResult } from './results';
import { tInterval } from './stats';
import { curveSpec, figuresAgainstSpec, type CurvePoint, type FigurePoint } from './studyChartSpecs';
import type { Table } from './tables';
import type { Cell } from './csvText';

/** The per-round metrics drawn as mean curves, with their axis titles. */
const CURVES: [MetricsCsvColumn, string][] = [
  ['testAccuracy', 'test accuracy'],
  ['trainLoss', 'training loss'],
  ['admitted', 'admitted devices'],
  ['energyJ', 'energy of the round (J)'],
  ['meanQueue', 'mean energy queue'],
];

function cellLabel(r: RunResult): string {
  return r.run.cell.map((g) => `${g.field.split('.').pop()}=${g.label}`).join(', ') || 'all runs';
}

function curvePoints(results: readonly RunResult[], metric: MetricsCsvColumn): CurvePoint[] {
  const byCell = new Map<string, Map<number, number[]>>();
  for (const r of results) {
    const cell = cellLabel(r);
    const rounds = byCell.get(cell) ?? new Map<number, number[]>();
    byCell.set(cell, rounds);
    for (const m of r.rounds) rounds.set(m.round, [...(rounds.get(m.round) ?? []), m[metric]]);
  }
  const points: CurvePoint[] = [];
  for (const [cell, rounds] of byCell)
    for (const [round, values] of rounds) {
      const s = tInterval(values);
      points.push({ cell, round, mean: s.mean, ciLow: s.ciLow, ciHigh: s.ciHigh });
    }
  return points;
}

/** The figures that vary somewhere in the study (a constant one, like `devices`, says nothing against a field). */
function varyingFigures(results: readonly RunResult[]): string[] {
  return figuresOf(results).filter((f) => new Set(results.map((r) => figure(r, f))).size > 1);
}

function figurePoints(plan: StudyPlan, results: readonly RunResult[], fieldIndex: number, figures: readonly string[]): FigurePoint[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    const group =
      r.run.cell
        .filter((_, i) => i !== fieldIndex)
        .map((g) => `${g.field.split('.').pop()}=${g.label}`)
        .join(', ') || plan.study.name;
    const key = `${group}\u0000${String(r.run.cell[fieldIndex]?.value)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const points: FigurePoint[] = [];
  for (const [key, runs] of groups) {
    const [group] = key.split('\u0000') as [string];
    const x = runs[0]?.run.cell[fieldIndex]?.value as number;
    for (const f of figures) {
      const s = tInterval(runs.map((r) => figure(r, f)));
      points.push({ figure: f, group, x, mean: s.mean, ciLow: s.ciLow, ciHigh: s.ciHigh });
    }
  }
  return points;
}

function htmlTable(table: Table, format: (column: string, value: Cell) => string = (_, v) => (typeof v === 'number' ? num(v) : v)): string {
  const head = `<tr>${table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = table.rows
    .map((row) => `<tr>${row.map((v, i) => `<td>${escapeHtml(format(table.columns[i] as string, v))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
}

interface Figure {
  name: string;
  title: string;
  caption: string;
  svg: string;
}

async function render(name: string, title: string, caption: string, spec: Parameters<typeof renderSvg>[1], index: number): Promise<Figure> {
  return { name, title, caption, svg: prefixSvgIds(compactSvg(await renderSvg(name, spec)), `s${index}`) };
}

/** The report page of a study. */
export async function studyReportHtml(
  plan: StudyPlan,
  results: readonly RunResult[],
  tables: { runs: Table; summary: Table; paired: Table },
): Promise<string> {
  const plots: Figure[] = [];
  const cells = [...new Set(results.map(cellLabel))];
  for (const [metric, title] of CURVES) {
    plots.push(
      await render(
        `curve-${metric}`,
        `${title} against rounds`,
        `Mean over seeds of ${title} after each round, one line per grid cell; the band is the 95% Student t interval across seeds (none where a cell has one seed).`,
        curveSpec(curvePoints(results, metric), cells, title),
        plots.length,
      ),
    );
  }
  const figures = varyingFigures(results);
  for (const [i, field] of plan.fields.entries()) {
    const values = plan.study.grid[i]?.[1] ?? [];
    if (values.length < 2 || !values.every((v) => typeof v === 'number')) continue;
    const nums = values as number[];
    const logX = Math.min(...nums) > 0 && Math.max(...nums) / Math.min(...nums) >= 100;
    const points = figurePoints(plan, results, i, figures);
    const groups = [...new Set(points.map((p) => p.group))];
    plots.push(
      await render(
        `against-${field}`,
        `Figures against ${field}`,
        `Each run figure that varies in the study against ${field}${logX ? ' (log scale)' : ''}: the mean over seeds with its 95% Student t interval, one line per setting of the other grid fields.`,
        figuresAgainstSpec(points, field, figures, groups, logX),
        plots.length,
      ),
    );
  }
  const figuresHtml = plots
    .map(
      (p) =>
        `<figure id="${escapeHtml(p.name)}">\n<h3>${escapeHtml(p.title)}</h3>\n${p.svg}\n<figcaption>${escapeHtml(p.caption)}</figcaption>\n</figure>`,
    )
    .join('\n');
  const seeds = [...new Set(plan.runs.map((r) => r.seed))];
  const header: [string, string][] = [
    ['scenario', plan.study.scenarioFile],
    ['fixed overrides', plan.study.set.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') || 'none'],
    ['grid', plan.study.grid.map(([k, v]) => `${k}: ${v.map((x) => JSON.stringify(x)).join(', ')}`).join('; ') || 'none'],
    ['seeds', seeds.join(', ')],
    ['runs', `${results.length} finished of ${plan.runs.length}`],
  ];
  const title = `airlora study: ${plan.study.name}`;
  const main = `<h2>Plots</h2>
${figuresHtml}
<h2>Summary per grid cell (95% Student t intervals across seeds)</h2>
${htmlTable(tables.summary)}
<h2>Paired differences between policies (policyA − policyB over common seeds, 95% paired t)</h2>
${tables.paired.rows.length > 0 ? htmlTable(tables.paired) : '<p>No policy field in the grid: no pairs.</p>'}
<h2>Runs</h2>
${htmlTable(tables.runs, (c, v) => (c === 'logHash' ? String(v).slice(0, 16) : typeof v === 'number' ? num(v) : v))}`;
  const intro = plan.study.description ? `<p>${escapeHtml(plan.study.description)}</p>` : '';
  const headerHtml = header.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  return htmlPage(
    title,
    headerHtml,
    main,
    'Written by airlora. Each run is an ordinary run in runs/&lt;id&gt;/ (replayable); the tables are also runs.csv, rounds.csv, summary.csv and paired.csv beside this page.',
    intro,
  );
}
