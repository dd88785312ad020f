/**
 * report.html and figure.svg for one run or a comparison of several (INTERFACE.md,
 * "What a run writes in its output folder"; MODEL.md §9). Plots are Vega-Lite specs
 * rendered to SVG in Node and inlined, so the page is self-contained.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { bandwidthCells, deviceEnergies, deviceIds, roundPoints, runLabels, type ReportRun } from './data';
import { reportHtml, type RenderedPlot } from './html';
import { compactSvg, prefixSvgIds, renderSvg } from './render';
import {
  accuracyByRoundSpec,
  accuracyByTimeSpec,
  admittedSpec,
  bandwidthSpec,
  bitsSpec,
  energySpec,
  formatJ,
  latencySpec,
  queueSpec,
  trainLossSpec,
  type PlotContext,
} from './runChartSpecs';

export interface ReportOptions {
  /** Page title; defaults to the scenario and policy (or "compare" and the scenario). */
  title?: string;
}

/** Named error for a report that cannot be written from what it was given. */
export class ReportError extends Error {
  override readonly name = 'ReportError';
}

/** At most this many points per line: longer runs are averaged in bins of rounds. */
const MAX_LINE_POINTS = 400;

interface PlotDef {
  name: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/** The plots of the report, in page order, with their captions. */
function plotDefs(runs: readonly ReportRun[]): { defs: PlotDef[]; figure: TopLevelSpec } {
  const labels = runLabels(runs);
  const many = runs.length > 1;
  const points = runs.flatMap((r, i) => roundPoints(labels[i] as string, r.rounds, MAX_LINE_POINTS));
  const roundNumbers = runs
    .flatMap((r) => [r.rounds[0]?.round, r.rounds[r.rounds.length - 1]?.round])
    .filter((x): x is number => x !== undefined);
  const roundRange: [number, number] = roundNumbers.length > 0 ? [Math.min(...roundNumbers), Math.max(...roundNumbers)] : [0, 1];
  const ctx: PlotContext = { labels, points, roundRange };
  const longest = Math.max(...runs.map((r) => r.rounds.length));
  const binNote = longest > MAX_LINE_POINTS ? ` (averaged over bins of ${Math.ceil(longest / MAX_LINE_POINTS)} rounds)` : '';
  const each = many ? ', one line per policy' : '';

  const ids = deviceIds(runs);
  const deviceCount = Math.max(ids.length, ...runs.map((r) => r.summary.devices));
  const budgetJ = runs[0]?.summary.energyBudgetJ ?? 0;
  const energies = runs.flatMap((r, i) => deviceEnergies(labels[i] as string, r, ids));
  const over = runs.map((r, i) =>
    many ? `${labels[i]} ${r.summary.devicesOverBudget}` : `${r.summary.devicesOverBudget} of ${r.summary.devices}`,
  );
  const byDevice = ids.length > 0 && ids.length <= 60;

  // At most 60 device rows; rounds unbinned up to 100, then as many round bins as keep
  // the heat map under about 6,000 cells in all (the HTML stays well under a megabyte).
  const deviceBins = 60;
  const roundBins =
    longest <= 100 ? 100 : Math.max(20, Math.min(100, Math.floor(6000 / (Math.min(deviceBins, Math.max(1, ids.length)) * runs.length))));
  const cells = runs.flatMap((r, i) => bandwidthCells(labels[i] as string, r.rounds, ids, deviceBins, roundBins));
  const devBlock = Math.ceil(ids.length / deviceBins);
  const roundBlock = Math.ceil(longest / roundBins);
  const binned = devBlock > 1 || roundBlock > 1;

  const defs: PlotDef[] = [
    {
      name: 'accuracy-rounds',
      title: 'Test accuracy against rounds',
      caption: `Test accuracy of the aggregated model after each round${each}${binNote}.`,
      spec: accuracyByRoundSpec(ctx),
    },
    {
      name: 'accuracy-time',
      title: 'Test accuracy against virtual time',
      caption: `Test accuracy against the simulated (virtual) time at the end of each round${each}, so slower rounds stretch the curve${binNote}.`,
      spec: accuracyByTimeSpec(ctx),
    },
    {
      name: 'admitted',
      title: 'Admitted devices per round',
      caption: many
        ? `Number of devices the scheduler admitted in each round, one line per policy${binNote}.`
        : `Devices admitted in each round and, of those, the ones whose work was aggregated (the rest missed the deadline, dropped out or failed)${binNote}.`,
      spec: admittedSpec(ctx),
    },
    {
      name: 'queues',
      title: 'Energy queue backlogs',
      caption: `Mean and maximum over devices of the virtual energy queue Q_k(t+1), which grows while a device spends more than its budget${each}${binNote}.`,
      spec: queueSpec(ctx),
    },
    {
      name: 'energy',
      title: 'Energy per device against its budget',
      caption: `${byDevice ? 'Time-average energy per round of each device' : 'Time-average energy per round of every device, devices ranked from highest to lowest'}${many ? ' for each policy' : ''}, against the budget Ē = ${formatJ(budgetJ)} (dashed); devices over budget: ${over.join(', ')}.`,
      spec: energySpec(ctx, energies, ids, budgetJ),
    },
    {
      name: 'bandwidth',
      title: 'Bandwidth shares per slot',
      caption: binned
        ? `Share of the band β held by each block of ${devBlock} device${devBlock > 1 ? 's' : ''} (in id order), summed over the block and averaged over blocks of ${roundBlock} round${roundBlock > 1 ? 's' : ''}${many ? ', one panel per policy' : ''}; white is no bandwidth.`
        : `Bandwidth share β of each device in each slot${many ? ', one panel per policy' : ''}; white means the device was not admitted.`,
      spec: bandwidthSpec(ctx, cells, ids.length > 0 ? ids.length : deviceCount),
    },
    {
      name: 'loss',
      title: 'Training loss',
      caption: `Mean training loss of the admitted devices' local steps in each round${each}${binNote}.`,
      spec: trainLossSpec(ctx),
    },
    {
      name: 'latency',
      title: 'Round latency',
      caption: `Virtual time from the start of each round until the last admitted device finished${each}${binNote}.`,
      spec: latencySpec(ctx),
    },
    {
      name: 'bits',
      title: 'Traffic per round',
      caption: many
        ? `Megabits moved over the medium in each round, all message types together, one line per policy${binNote}.`
        : `Megabits moved over the medium in each round, stacked by message type (activations, features, gradients, heads)${binNote}.`,
      spec: bitsSpec(ctx),
    },
  ];
  return { defs, figure: accuracyByTimeSpec(ctx, true) };
}

/**
 * Writes `report.html` and `figure.svg` (accuracy against virtual time, for papers)
 * into `outDir`. One run gives a run report; several give a comparison, with a line
 * per policy and a table of summary figures per policy. Returns the two paths.
 */
export async function writeReport(
  outDir: string,
  runs: readonly ReportRun[],
  options: ReportOptions = {},
): Promise<{ html: string; figure: string }> {
  if (runs.length === 0) throw new ReportError('writeReport needs at least one run');
  const summaries = runs.map((r) => r.summary);
  const labels = runLabels(runs);
  const first = summaries[0] as (typeof summaries)[number];
  const title =
    options.title ??
    (runs.length > 1 ? `airlora compare: ${first.scenario} (${labels.join(', ')})` : `airlora run: ${first.scenario}, ${first.policy}`);

  const { defs, figure } = plotDefs(runs);
  const plots: RenderedPlot[] = [];
  for (const [i, d] of defs.entries()) {
    // Rendered one at a time: Vega is CPU-bound, and this keeps memory flat for large runs.
    const svg = prefixSvgIds(compactSvg(await renderSvg(d.name, d.spec)), `p${i}`);
    plots.push({ name: d.name, title: d.title, caption: d.caption, svg });
  }
  const figureSvg = `<?xml version="1.0" encoding="UTF-8"?>\n${compactSvg(await renderSvg('figure', figure))}\n`;

  await mkdir(outDir, { recursive: true });
  const htmlPath = path.join(outDir, 'report.html');
  const figurePath = path.join(outDir, 'figure.svg');
  await writeFile(htmlPath, reportHtml(title, summaries, labels, plots));
  await writeFile(figurePath, figureSvg);
  return { html: htmlPath, figure: figurePath };
}
