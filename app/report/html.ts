/** The report page: header, summary table and captioned plots, as one self-contained HTML file. */
import type { RunSummary } from '../metrics';
import { formatDurationS } from './runProgress';

/** A rendered plot with its one-sentence caption. */
export interface RenderedPlot {
  name: string;
  title: string;
  caption: string;
  svg: string;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A number for a table: 3 significant digits, exponent form when very large or small. */
export function num(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return String(+x.toPrecision(digits));
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : String(x);
}

/** The header's fields; a field that differs between runs lists the distinct values. */
function headerRows(summaries: readonly RunSummary[], labels: readonly string[]): [string, string][] {
  const distinct = (f: (s: RunSummary) => string): string => [...new Set(summaries.map(f))].join(', ');
  const many = summaries.length > 1;
  const wallS = summaries.reduce((s, r) => s + r.wallS, 0);
  return [
    ['scenario', distinct((s) => s.scenario)],
    [many ? 'policies' : 'policy', many ? labels.join(', ') : distinct((s) => s.policy)],
    ['seed', distinct((s) => String(s.seed))],
    ['backend', distinct((s) => s.backend)],
    ['cost profile', distinct((s) => s.costProfile)],
    ['rounds', distinct((s) => String(s.rounds))],
    ['devices', distinct((s) => String(s.devices))],
    ['wall time', many ? `${formatDurationS(wallS)} in all (per run in the table)` : formatDurationS(wallS)],
    ['log hash', many ? 'one per run (in the table)' : distinct((s) => s.logHash)],
  ];
}

const TABLE_COLUMNS: [string, (s: RunSummary) => string][] = [
  ['final accuracy', (s) => pct(s.finalAccuracy)],
  ['mean admitted', (s) => num(s.meanAdmitted)],
  ['mean energy / device (J per round)', (s) => num(s.meanEnergyJPerDevice)],
  ['max energy / device (J per round)', (s) => num(s.maxEnergyJPerDevice)],
  ['budget Ē (J per round)', (s) => num(s.energyBudgetJ)],
  ['devices over budget', (s) => `${s.devicesOverBudget} / ${s.devices}`],
  ['time-average penalty', (s) => num(s.timeAveragePenalty)],
  ['virtual time', (s) => formatDurationS(s.virtualTimeS)],
  ['wall time', (s) => formatDurationS(s.wallS)],
  ['seed', (s) => String(s.seed)],
  ['log hash', (s) => s.logHash.slice(0, 16)],
];

/** The report pages' style sheet (run, comparison and study reports). */
export const STYLE = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#222;margin:0 auto;max-width:1040px;padding:16px 24px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
dl.header{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dl.header dt{color:#666}dl.header dd{margin:0;font-variant-numeric:tabular-nums;word-break:break-all}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:right;vertical-align:bottom}
th:first-child,td:first-child{text-align:left}th{font-weight:600;background:#fafafa}
td.hash{font-family:Menlo,Consolas,monospace;font-size:12px}
figure{margin:18px 0 26px}figure h3{font-size:15px;margin:0 0 4px}
figcaption{color:#444;max-width:760px;margin-top:2px}
figure svg{max-width:100%;height:auto}
footer{color:#888;font-size:12px;margin-top:32px}
`;

/** The whole page. Plots are inline SVG; the page loads nothing from anywhere. */
export function reportHtml(
  title: string,
  summaries: readonly RunSummary[],
  labels: readonly string[],
  plots: readonly RenderedPlot[],
): string {
  const header = headerRows(summaries, labels)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('');
  const head = `<tr><th>${summaries.length > 1 ? 'policy' : 'run'}</th>${TABLE_COLUMNS.map(([h]) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = summaries
    .map((s, i) => {
      const cells = TABLE_COLUMNS.map(
        ([h, f]) => `<td${h === 'log hash' ? ` class="hash" title="${escapeHtml(s.logHash)}"` : ''}>${escapeHtml(f(s))}</td>`,
      ).join('');
      return `<tr><td>${escapeHtml(labels[i] ?? s.policy)}</td>${cells}</tr>`;
    })
    .join('\n');
  const figures = plots
    .map(
      (p) =>
        `<figure id="${escapeHtml(p.name)}">\n<h3>${escapeHtml(p.title)}</h3>\n${p.svg}\n<figcaption>${escapeHtml(p.caption)}</figcaption>\n</figure>`,
    )
    .join('\n');
  const main = `<h2>Summary</h2>
<table>
${head}
${body}
</table>
<h2>Plots</h2>
${figures}`;
  return htmlPage(
    title,
    header,
    main,
    "Written by airlora. Energies are time averages over the run's rounds; times marked virtual are simulated, wall times are the simulator's own cost.",
  );
}

/** A self-contained page of the house style: title, the header's terms, `main`, the footer. `intro` is a paragraph under the title. */
export function htmlPage(title: string, headerHtml: string, main: string, footer: string, intro?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
${intro === undefined ? '' : `${intro}\n`}<dl class="header">${headerHtml}</dl>
</header>
${main}
<footer>${footer}</footer>
</body>
</html>
`;
}
