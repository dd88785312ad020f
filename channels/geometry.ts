/**
 * Cell geometry and large-scale fading of MODEL.md §3: device positions uniform over the annulus
 * d_min ≤ d ≤ R (so d = sqrt(d_min² + U (R² − d_min²))), a uniform angle, and log-normal shadowing
 * ξ_k ~ N(0, σ_sh²) dB drawn once per device. Each device draws from its own stream
 * `random.fork('cell').fork('d<k>')`, so its position does not depend on how many devices exist.
 */
import type { RandomStream } from '../util/random';
import { ChannelParamsError } from './errors';
import { channelGain, pathLossDb } from './linkBudget';
import type { CellParams } from './params';

/** The cell once drawn: per device, in device order. Plain data (JSON-safe), so it can be logged and checkpointed. */
export interface Cell {
  readonly deviceCount: number;
  /** Distance d_k from the server. */
  readonly distancesM: readonly number[];
  /** Position (server at the origin). */
  readonly xM: readonly number[];
  readonly yM: readonly number[];
  /** Shadowing ξ_k. */
  readonly shadowingDb: readonly number[];
  /** PL_dB(d_k). */
  readonly pathLossDb: readonly number[];
  /** 10^((−PL_dB − ξ_k)/10): the gain before small-scale fading. */
  readonly largeScaleGain: readonly number[];
}

/** Checks the cell parameters, naming the field and the rule. MODEL.md §3. */
export function validateCellParams(cell: CellParams): void {
  if (!(cell.minDistanceM > 0)) throw new ChannelParamsError('cell.minDistanceM', `must be > 0 m, got ${cell.minDistanceM}`);
  if (!(cell.radiusM > cell.minDistanceM))
    throw new ChannelParamsError('cell.radiusM', `must exceed cell.minDistanceM (${cell.minDistanceM} m), got ${cell.radiusM}`);
  if (!(cell.shadowingDb >= 0)) throw new ChannelParamsError('cell.shadowingDb', `must be ≥ 0 dB, got ${cell.shadowingDb}`);
}

/**
 * Draws the cell: positions and shadowing of `deviceCount` devices. `random` is the channel's stream
 * (e.g. `root.fork('channel')`); device k draws from `random.fork('cell').fork('d<k>')`. MODEL.md §3.
 */
export function createCell(cell: CellParams, deviceCount: number, random: RandomStream): Cell {
  validateCellParams(cell);
  if (!(Number.isInteger(deviceCount) && deviceCount >= 0))
    throw new ChannelParamsError('devices.count', `must be an integer ≥ 0, got ${deviceCount}`);
  const streams = random.fork('cell');
  const distancesM: number[] = [];
  const xM: number[] = [];
  const yM: number[] = [];
  const shadowingDb: number[] = [];
  const pathLoss: number[] = [];
  const largeScaleGain: number[] = [];
  const r2 = cell.radiusM * cell.radiusM;
  const m2 = cell.minDistanceM * cell.minDistanceM;
  for (let k = 0; k < deviceCount; k++) {
    const s = streams.fork(`d${k}`);
    const d = Math.sqrt(m2 + s.uniform() * (r2 - m2));
    const angle = 2 * Math.PI * s.uniform();
    const xi = cell.shadowingDb * s.normal();
    const pl = pathLossDb(d);
    distancesM.push(d);
    xM.push(d * Math.cos(angle));
    yM.push(d * Math.sin(angle));
    shadowingDb.push(xi);
    pathLoss.push(pl);
    largeScaleGain.push(channelGain(pl, xi, 1));
  }
  return { deviceCount, distancesM, xM, yM, shadowingDb, pathLossDb: pathLoss, largeScaleGain };
}
