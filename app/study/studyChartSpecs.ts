/**
 * Vega-Lite specs of the study report: per-round mean curves with their 95% bands across seeds,
 * one line per grid cell; and each figure against each numeric grid field, means with 95%
 * interval bars, one line per setting of the other fields. Intervals are computed beforehand
 * (Student t, stats.ts), never by Vega's bootstrap.
 */
import type { TopLevelSpec } from 'vega-lite';
import { BASE_CONFIG } from '../report/runChartSpecs';

/** One point of a mean curve: a grid cell's mean of a metric at a round, with its interval. */
export interface CurvePoint {
  cell: string;
  round: number;
  mean: number;
  ciLow: number;
  ciHigh: number;
}

/** One point of a figure against a grid field: the mean over seeds at one value of the field. */
export interface FigurePoint {
  figure: string;
  /** The other grid fields' labels (the line it belongs to). */
  group: string;
  x: number;
  mean: number;
  ciLow: number;
  ciHigh: number;
}

const asSpec = (spec: Record<string, unknown>): TopLevelSpec => spec as unknown as TopLevelSpec;

/** Mean curve of one metric per grid cell, with its 95% band (where at least two seeds give one). */
export function curveSpec(points: readonly CurvePoint[], cells: readonly string[], title: string): TopLevelSpec {
  const color = { field: 'cell', type: 'nominal', title: 'grid cell', sort: cells, legend: cells.length > 1 ? { orient: 'right' } : null };
  const x = {
    field: 'round',
    type: 'quantitative',
    title: 'round',
    scale: { nice: false, zero: false },
    axis: { tickMinStep: 1, format: 'd' },
  };
  return asSpec({
    width: 560,
    height: 220,
    config: BASE_CONFIG,
    data: { values: points },
    layer: [
      {
        transform: [{ filter: 'isFinite(datum.ciLow) && isFinite(datum.ciHigh)' }],
        mark: { type: 'area', opacity: 0.18 },
        encoding: { x, y: { field: 'ciLow', type: 'quantitative', title, scale: { zero: false } }, y2: { field: 'ciHigh' }, color },
      },
      {
        transform: [{ filter: 'isFinite(datum.mean)' }],
        mark: { type: 'line', strokeWidth: 1.8 },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title }, color },
      },
    ],
  });
}

/** Every figure against one numeric grid field: a small panel per figure, means and 95% interval bars. */
export function figuresAgainstSpec(
  points: readonly FigurePoint[],
  field: string,
  figures: readonly string[],
  groups: readonly string[],
  logX: boolean,
): TopLevelSpec {
  const x = { field: 'x', type: 'quantitative', title: field, scale: logX ? { type: 'log' } : { zero: false, nice: false } };
  const color = {
    field: 'group',
    type: 'nominal',
    title: 'other grid fields',
    sort: groups,
    legend: groups.length > 1 ? { orient: 'bottom', columns: 3 } : null,
  };
  return asSpec({
    config: BASE_CONFIG,
    data: { values: points },
    columns: 3,
    concat: figures.map((f) => ({
      width: 230,
      height: 150,
      title: { text: f, fontSize: 12, fontWeight: 'normal' },
      transform: [{ filter: { field: 'figure', equal: f } }],
      layer: [
        {
          transform: [{ filter: 'isFinite(datum.ciLow) && isFinite(datum.ciHigh)' }],
          mark: { type: 'rule', strokeWidth: 1.4 },
          encoding: { x, y: { field: 'ciLow', type: 'quantitative', title: null, scale: { zero: false } }, y2: { field: 'ciHigh' }, color },
        },
        {
          mark: { type: 'line', point: { size: 26 }, strokeWidth: 1.4 },
          encoding: { x, y: { field: 'mean', type: 'quantitative', title: null }, color },
        },
      ],
    })),
  });
}
