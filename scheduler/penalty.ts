/**
 * The learning penalty Φ_t(S) of MODEL.md §5 and the round weights w_t.
 */
import type { PenaltyKind } from './instance';

/** What Φ needs besides the admitted set. */
export interface PenaltyOptions {
  /** `count` (MODEL.md §5) or `data` (the data-weighted variant). */
  readonly penalty: PenaltyKind;
  /** w_t. */
  readonly weight: number;
  /** Φ_empty (count variant only). */
  readonly phiEmpty: number;
  /** D_k of every device (data variant only), in device order. */
  readonly dataSizes?: readonly number[];
}

/**
 * Count penalty of MODEL.md §5: w_t (K − n) / ((K − 1) n) for n ≥ 1, w_t Φ_empty for n = 0,
 * and 0 for K = 1, n = 1.
 */
export function phiCount(admittedCount: number, deviceCount: number, weight: number, phiEmpty: number): number {
  if (admittedCount <= 0) return weight * phiEmpty;
  if (deviceCount <= 1) return 0;
  return (weight * (deviceCount - admittedCount)) / ((deviceCount - 1) * admittedCount);
}

/** Data-weighted penalty of MODEL.md §5: w_t Σ_{k∉S} D_k / D (so Φ(∅) = w_t). */
export function phiData(admittedDataSize: number, totalDataSize: number, weight: number): number {
  if (!(totalDataSize > 0)) return 0;
  return (weight * Math.max(0, totalDataSize - admittedDataSize)) / totalDataSize;
}

/**
 * Φ_t(S) of MODEL.md §5 for the admitted device indices `admitted` out of `deviceCount` devices.
 * The data variant sums D_k in index order.
 */
export function phi(admitted: readonly number[], deviceCount: number, options: PenaltyOptions): number {
  if (options.penalty === 'count') return phiCount(admitted.length, deviceCount, options.weight, options.phiEmpty);
  const sizes = options.dataSizes ?? [];
  let total = 0;
  for (let i = 0; i < deviceCount; i++) total += sizes[i] ?? 0;
  let inside = 0;
  for (const k of [...admitted].sort((x, y) => x - y)) inside += sizes[k] ?? 0;
  return phiData(inside, total, options.weight);
}

/** Round weight w_t = ρ_c^{T−1−t} of MODEL.md §5 (`base` = ρ_c ∈ (0, 1], t = `slot`, T = `rounds`). */
export function roundWeight(base: number, slot: number, rounds: number): number {
  if (!(base > 0 && base <= 1)) throw new RangeError(`round weight base must be in (0, 1], got ${base}`);
  return Math.pow(base, Math.max(0, rounds - 1 - slot));
}
