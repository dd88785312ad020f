/**
 * Bandwidth slices of MODEL.md §3: FDMA with Σ_k β_k ≤ 1 and β_k = 0 for k ∉ S_t. A decision that
 * breaks a rule is rejected with a `BandwidthError` naming the rule; it is never scaled to fit.
 */
import { BandwidthError } from './errors';

/** Tolerance on Σβ ≤ 1 (rounding in the scheduler's own sums). */
export const BANDWIDTH_SUM_TOLERANCE = 1e-9;

/**
 * The scheduler's decision for one slot, in the shape of `solve-slot`'s answer (INTERFACE.md):
 * device ids ('d3', or the index '3'), the uplink fractions by id, and optional downlink fractions
 * (the uplink ones by default, MODEL.md §3).
 */
export interface SliceDecision {
  readonly slot?: number;
  readonly admitted: readonly string[];
  readonly bandwidth: Readonly<Record<string, number>>;
  readonly downlinkBandwidth?: Readonly<Record<string, number>>;
}

/** A validated decision: the admitted indices in increasing order and a fraction for every device (0 outside S_t). */
export interface BandwidthSlices {
  readonly slot?: number;
  readonly admitted: readonly number[];
  readonly uplink: readonly number[];
  readonly downlink: readonly number[];
}

const ID = /^d?(\d+)$/;

function indexOf(id: string, deviceCount: number, where: string, slot: number | undefined): number {
  const match = ID.exec(id);
  const k = match?.[1] === undefined ? NaN : Number(match[1]);
  if (!Number.isSafeInteger(k)) throw new BandwidthError(`${where}: ${JSON.stringify(id)} is not a device id (expected 'd<index>')`, slot);
  if (k >= deviceCount) throw new BandwidthError(`${where}: device ${id} does not exist (${deviceCount} devices)`, slot);
  return k;
}

function fractions(
  table: Readonly<Record<string, number>>,
  name: string,
  admitted: ReadonlySet<number>,
  deviceCount: number,
  slot: number | undefined,
): number[] {
  const beta = new Array<number>(deviceCount).fill(0);
  const seen = new Set<number>();
  for (const [id, value] of Object.entries(table)) {
    const k = indexOf(id, deviceCount, name, slot);
    if (seen.has(k)) throw new BandwidthError(`${name}: device d${k} has two entries`, slot);
    seen.add(k);
    if (typeof value !== 'number' || Number.isNaN(value))
      throw new BandwidthError(`${name}[${id}] is not a number (${String(value)})`, slot);
    if (value < 0) throw new BandwidthError(`${name}[${id}] = ${value} is a negative bandwidth fraction`, slot);
    if (!Number.isFinite(value) || value > 1)
      throw new BandwidthError(`${name}[${id}] = ${value} exceeds the whole band (fractions are ≤ 1)`, slot);
    if (!admitted.has(k)) {
      if (value > 0) throw new BandwidthError(`${name}[${id}] = ${value} is given to a device that is not admitted`, slot);
      continue;
    }
    beta[k] = value;
  }
  for (const k of admitted) if (!seen.has(k)) throw new BandwidthError(`${name}: admitted device d${k} has no bandwidth fraction`, slot);
  let sum = 0;
  for (let k = 0; k < deviceCount; k++) sum += beta[k] as number; // device order: the sum does not depend on the table's order
  if (sum > 1 + BANDWIDTH_SUM_TOLERANCE)
    throw new BandwidthError(
      `${name}: fractions sum to ${sum}, more than the whole band (Σβ ≤ 1, tolerance ${BANDWIDTH_SUM_TOLERANCE})`,
      slot,
    );
  return beta;
}

/**
 * Validates a decision against MODEL.md §3 and returns its slices. Throws `BandwidthError` for
 * Σβ > 1 (beyond 1e-9), a negative, NaN or > 1 fraction, a positive fraction for a device not
 * admitted, an admitted device without a fraction, an unknown or repeated device.
 */
export function validateDecision(decision: SliceDecision, deviceCount: number): BandwidthSlices {
  const slot = decision.slot;
  if (!Array.isArray(decision.admitted)) throw new BandwidthError('admitted must be an array of device ids', slot);
  if (typeof decision.bandwidth !== 'object' || decision.bandwidth === null)
    throw new BandwidthError('bandwidth must be an object of fractions by device id', slot);
  const admitted = new Set<number>();
  for (const id of decision.admitted) {
    const k = indexOf(String(id), deviceCount, 'admitted', slot);
    if (admitted.has(k)) throw new BandwidthError(`admitted: device d${k} is listed twice`, slot);
    admitted.add(k);
  }
  const uplink = fractions(decision.bandwidth, 'bandwidth', admitted, deviceCount, slot);
  const downlink =
    decision.downlinkBandwidth === undefined
      ? uplink.slice()
      : fractions(decision.downlinkBandwidth, 'downlinkBandwidth', admitted, deviceCount, slot);
  const sorted = [...admitted].sort((a, b) => a - b);
  return slot === undefined ? { admitted: sorted, uplink, downlink } : { slot, admitted: sorted, uplink, downlink };
}
