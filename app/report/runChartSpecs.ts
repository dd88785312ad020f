/**
 * Vega-Lite specifications of the report's plots (MODEL.md §9). Pure functions from
 * the tables of data.ts to specs; rendering lives in render.ts.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { BandwidthCell, DeviceEnergy, RoundPoint } from './data';

/** What every plot spec is built from. */
export interface PlotContext {
  /** Run labels, in the order the runs were given (the legend order). */
  labels: string[];
  /** Per-round points of every run. */
  points: RoundPoint[];
  /** First and last round number over all runs (before any binning). */
  roundRange: [number, number];
}

const WIDTH = 560;
const HEIGHT = 220;
const SINGLE_COLOR = '#1f77b4';
const BUDGET_COLOR = '#d62728';

/** Shared look: readable fonts, light grid, white background (so the SVGs read well outside the page too). */
export const BASE_CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 8,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e8e8e8', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', labelLimit: 220 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  range: { category: { scheme: 'tableau10' } },
} as const;

/**
 * The specs are built from small helpers typed loosely (Vega-Lite's own types do not
 * compose through spreads); vega-lite validates them when compiling, and the tests
 * render every plot.
 */
function asSpec(spec: Record<string, unknown>): TopLevelSpec {
  return spec as unknown as TopLevelSpec;
}

const multi = (ctx: PlotContext): boolean => ctx.labels.length > 1;

/** Colour by run when comparing; one fixed colour otherwise. */
function runColor(ctx: PlotContext): Record<string, unknown> {
  return multi(ctx)
    ? { color: { field: 'run', type: 'nominal', title: 'policy', sort: ctx.labels, legend: { orient: 'right' } } }
    : { color: { value: SINGLE_COLOR } };
}

/** Line mark, with point markers when there are few rounds to show. */
function lineMark(ctx: PlotContext, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const perRun = ctx.points.length / Math.max(1, ctx.labels.length);
  return { type: 'line', strokeWidth: 1.8, ...(perRun <= 40 ? { point: { size: 18 } } : {}), ...extra };
}

const ROUND_AXIS = {
  field: 'round',
  type: 'quantitative',
  title: 'round',
  scale: { nice: false, zero: false },
  axis: { tickMinStep: 1, format: 'd' },
};

/** A line per run of one per-round field against rounds. */
function perRoundLine(ctx: PlotContext, field: keyof RoundPoint, title: string, yExtra: Record<string, unknown> = {}): TopLevelSpec {
  return asSpec({
    width: WIDTH,
    height: HEIGHT,
    config: BASE_CONFIG,
    data: { values: ctx.points },
    transform: [{ filter: `isValid(datum.${field}) && isFinite(datum.${field})` }],
    mark: lineMark(ctx),
    encoding: {
      x: ROUND_AXIS,
      y: { field, type: 'quantitative', title, ...yExtra },
      ...runColor(ctx),
    },
  });
}

/** Test accuracy against rounds. */
export function accuracyByRoundSpec(ctx: PlotContext): TopLevelSpec {
  return perRoundLine(ctx, 'accuracy', 'test accuracy', { axis: { format: '.0%' } });
}

/**
 * Test accuracy against virtual time. With `paper`, the layout of figure.svg: a
 * compact plot with larger type and the legend inside, at the lower right.
 */
export function accuracyByTimeSpec(ctx: PlotContext, paper = false): TopLevelSpec {
  const color = multi(ctx)
    ? {
        color: {
          field: 'run',
          type: 'nominal',
          title: paper ? null : 'policy',
          sort: ctx.labels,
          legend: paper
            ? { orient: 'bottom-right', fillColor: 'white', padding: 6, strokeColor: '#ccc', labelFontSize: 12 }
            : { orient: 'right' },
        },
      }
    : { color: { value: SINGLE_COLOR } };
  const config = paper ? { ...BASE_CONFIG, padding: 4, axis: { ...BASE_CONFIG.axis, labelFontSize: 12, titleFontSize: 13 } } : BASE_CONFIG;
  return asSpec({
    width: paper ? 420 : WIDTH,
    height: paper ? 260 : HEIGHT,
    config,
    data: { values: ctx.points },
    transform: [{ filter: 'isValid(datum.accuracy) && isFinite(datum.accuracy)' }],
    mark: lineMark(ctx, paper ? { strokeWidth: 2 } : {}),
    encoding: {
      x: { field: 'virtualTimeS', type: 'quantitative', title: 'virtual time (s)', scale: { zero: true }, axis: { tickCount: 8 } },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', axis: { format: '.0%' } },
      ...color,
    },
  });
}

/** Training loss against rounds. */
export function trainLossSpec(ctx: PlotContext): TopLevelSpec {
  return perRoundLine(ctx, 'trainLoss', 'training loss');
}

/** Round latency against rounds. */
export function latencySpec(ctx: PlotContext): TopLevelSpec {
  return perRoundLine(ctx, 'latencyS', 'round latency (virtual s)');
}

/**
 * Admitted devices per round. One run: a stacked bar per round, the devices whose work
 * was aggregated and those that failed (deadline, dropout, failure); several: a line of
 * admitted devices per policy.
 */
export function admittedSpec(ctx: PlotContext): TopLevelSpec {
  if (multi(ctx)) return perRoundLine(ctx, 'admitted', 'admitted devices', { axis: { tickMinStep: 1 } });
  const series = ['aggregated', 'failed'];
  return asSpec({
    width: WIDTH,
    height: HEIGHT,
    config: BASE_CONFIG,
    data: { values: ctx.points },
    transform: [
      { calculate: 'datum.admitted - datum.aggregated', as: 'failed' },
      { fold: series, as: ['series', 'devices'] },
    ],
    mark: { type: 'bar', width: { band: 0.85 } },
    encoding: {
      x: {
        field: 'round',
        type: 'ordinal',
        title: 'round',
        axis: { labelAngle: 0, labelOverlap: true, values: roundTicks(ctx), labelExpr: "format(datum.value, 'd')" },
      },
      y: { field: 'devices', type: 'quantitative', title: 'admitted devices', stack: 'zero', axis: { tickMinStep: 1 } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: series,
        scale: { domain: series, range: [SINGLE_COLOR, '#ff7f0e'] },
        legend: { orient: 'top', direction: 'horizontal' },
      },
      order: { field: 'series', sort: 'ascending' },
    },
  });
}

/** About ten round numbers to label an ordinal round axis with. */
function roundTicks(ctx: PlotContext): number[] {
  const rounds = ctx.points.map((p) => p.round);
  if (rounds.length <= 12) return rounds;
  const step = Math.ceil(rounds.length / 10);
  return rounds.filter((_, i) => i % step === 0);
}

/** Mean and maximum virtual energy queue Q_k(t) across devices per round (MODEL.md §6). */
export function queueSpec(ctx: PlotContext): TopLevelSpec {
  const statSort = ['max over devices', 'mean over devices'];
  const encoding = multi(ctx)
    ? {
        ...runColor(ctx),
        strokeDash: { field: 'statistic', type: 'nominal', title: null, sort: statSort, legend: { orient: 'right' } },
      }
    : { color: { field: 'statistic', type: 'nominal', title: null, sort: statSort, legend: { orient: 'right' } } };
  return asSpec({
    width: WIDTH,
    height: HEIGHT,
    config: BASE_CONFIG,
    data: { values: ctx.points },
    transform: [
      { calculate: 'datum.maxQueue', as: 'max over devices' },
      { calculate: 'datum.meanQueue', as: 'mean over devices' },
      { fold: statSort, as: ['statistic', 'queue'] },
    ],
    mark: lineMark(ctx, { point: false }),
    encoding: {
      x: ROUND_AXIS,
      y: { field: 'queue', type: 'quantitative', title: 'energy queue Q (J)' },
      detail: { field: 'run' },
      ...encoding,
    },
  });
}

/**
 * Time-average energy per device against the budget Ē (MODEL.md §6). With few devices,
 * a bar per device (grouped by policy when comparing); with many, each run's devices
 * ranked by energy as a line. The budget is a dashed rule.
 */
export function energySpec(ctx: PlotContext, energies: DeviceEnergy[], ids: string[], budgetJ: number): TopLevelSpec {
  const byDevice = ids.length > 0 && ids.length <= 60;
  // The budget as a dashed rule with its own legend entry, so its label never sits on the data.
  const rule = {
    data: { values: [{ budgetJ }] },
    mark: { type: 'rule', color: BUDGET_COLOR, strokeWidth: 1.5 },
    encoding: {
      y: { field: 'budgetJ', type: 'quantitative' },
      strokeDash: {
        datum: `budget Ē = ${formatJ(budgetJ)}`,
        type: 'nominal',
        title: null,
        scale: { range: [[6, 4]] },
        legend: { orient: 'top', symbolStrokeColor: BUDGET_COLOR },
      },
    },
  };
  const main = byDevice
    ? {
        data: { values: energies.filter((e) => e.device !== '(never admitted)') },
        mark: { type: 'bar', width: { band: 0.8 } },
        encoding: {
          x: {
            field: 'device',
            type: 'ordinal',
            title: 'device',
            sort: ids,
            axis: { labelAngle: -90, labelFontSize: ids.length > 30 ? 8 : 10 },
          },
          y: { field: 'energyJ', type: 'quantitative', title: 'time-average energy (J / round)' },
          ...(multi(ctx) ? { xOffset: { field: 'run', sort: ctx.labels } } : {}),
          ...runColor(ctx),
        },
      }
    : {
        data: { values: energies },
        mark: { type: 'line', strokeWidth: 1.8, interpolate: 'step-after' },
        encoding: {
          x: {
            field: 'rank',
            type: 'quantitative',
            title: 'devices ranked by energy (highest first)',
            scale: { nice: false, zero: false },
          },
          y: { field: 'energyJ', type: 'quantitative', title: 'time-average energy (J / round)' },
          ...runColor(ctx),
        },
      };
  return asSpec({ width: WIDTH, height: HEIGHT, config: BASE_CONFIG, layer: [main, rule] });
}

/** "0.05 J", "12.3 mJ". */
export function formatJ(j: number): string {
  if (!Number.isFinite(j)) return String(j);
  if (j !== 0 && Math.abs(j) < 0.01) return `${+(j * 1000).toPrecision(3)} mJ`;
  return `${+j.toPrecision(3)} J`;
}

/**
 * Heat map of bandwidth shares β per device per slot (binned for large runs); one
 * panel per policy when comparing. White is zero.
 */
export function bandwidthSpec(ctx: PlotContext, cells: BandwidthCell[], deviceCount: number): TopLevelSpec {
  const [minRound, maxRound] = ctx.roundRange;
  const panelHeight = multi(ctx) ? Math.max(90, Math.round(260 / ctx.labels.length)) : HEIGHT;
  return asSpec({
    width: WIDTH,
    height: panelHeight,
    config: { ...BASE_CONFIG, view: { stroke: '#ccc', fill: 'white' } },
    data: { values: cells },
    // The fill colour as a thin outline closes the anti-aliasing seams between adjacent cells.
    mark: { type: 'rect', strokeWidth: 0.6, stroke: { expr: "scale('color', datum.share)" }, aria: false },
    encoding: {
      x: {
        field: 'roundStart',
        type: 'quantitative',
        title: 'round',
        scale: { domain: [minRound - 0.5, maxRound + 0.5], nice: false, zero: false },
        axis: { format: 'd', tickMinStep: 1 },
      },
      x2: { field: 'roundEnd' },
      y: {
        field: 'deviceStart',
        type: 'quantitative',
        title: multi(ctx) ? 'device' : 'device (index in id order)',
        scale: { domain: [-0.5, Math.max(1, deviceCount) - 0.5], nice: false, zero: false, reverse: true },
        axis: { format: 'd', tickMinStep: 1 },
      },
      y2: { field: 'deviceEnd' },
      color: {
        field: 'share',
        type: 'quantitative',
        title: 'β share',
        scale: { scheme: 'viridis', domainMin: 0 },
        legend: { format: '.2f', gradientLength: Math.min(160, panelHeight) },
      },
      ...(multi(ctx)
        ? {
            row: {
              field: 'run',
              type: 'nominal',
              title: null,
              sort: ctx.labels,
              header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' },
            },
          }
        : {}),
    },
  });
}

/**
 * Megabits moved per round: one run, stacked by message type (MODEL.md §4);
 * several, the total per policy.
 */
export function bitsSpec(ctx: PlotContext): TopLevelSpec {
  if (multi(ctx)) {
    return asSpec({
      width: WIDTH,
      height: HEIGHT,
      config: BASE_CONFIG,
      data: { values: ctx.points },
      transform: [{ calculate: 'datum.activationsMbit + datum.featuresMbit + datum.gradientsMbit + datum.headsMbit', as: 'totalMbit' }],
      mark: lineMark(ctx),
      encoding: { x: ROUND_AXIS, y: { field: 'totalMbit', type: 'quantitative', title: 'Mbit per round (all types)' }, ...runColor(ctx) },
    });
  }
  const types = ['activationsMbit', 'featuresMbit', 'gradientsMbit', 'headsMbit'];
  return asSpec({
    width: WIDTH,
    height: HEIGHT,
    config: BASE_CONFIG,
    data: { values: ctx.points },
    transform: [
      { fold: types, as: ['typeField', 'mbit'] },
      { calculate: "replace(datum.typeField, 'Mbit', '')", as: 'type' },
    ],
    mark: { type: 'area', interpolate: 'linear', opacity: 0.85 },
    encoding: {
      x: ROUND_AXIS,
      y: { field: 'mbit', type: 'quantitative', title: 'Mbit per round', stack: 'zero' },
      color: { field: 'type', type: 'nominal', title: 'message type', sort: ['activations', 'features', 'gradients', 'heads'] },
      order: { field: 'type', sort: 'ascending' },
    },
  });
}
