/**
 * The statistics of a study: mean, sample standard deviation and a Student t interval across
 * seeds, and the paired t interval of a difference between two policies over common seeds.
 * The t quantile comes from jstat.
 */
import { jStat } from 'jstat';

/** Confidence level of every interval a study writes. */
export const CONFIDENCE = 0.95;

export interface Interval {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); NaN for n < 2. */
  sd: number;
  /** mean ∓ t(1 − α/2, n − 1) · sd / √n; NaN for n < 2. */
  ciLow: number;
  ciHigh: number;
}

/** Mean, sample standard deviation and the two-sided Student t interval of `values` (NaNs dropped). */
export function tInterval(values: readonly number[], confidence = CONFIDENCE): Interval {
  const xs = values.filter((x) => !Number.isNaN(x));
  const n = xs.length;
  if (n === 0) return { n, mean: Number.NaN, sd: Number.NaN, ciLow: Number.NaN, ciHigh: Number.NaN };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { n, mean, sd: Number.NaN, ciLow: Number.NaN, ciHigh: Number.NaN };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = jStat.studentt.inv(1 - (1 - confidence) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean, sd, ciLow: mean - half, ciHigh: mean + half };
}

/**
 * The paired t interval of a − b over the keys (seeds) both have: the interval of the per-seed
 * differences. Keys missing on either side, or with NaN on either side, are left out.
 */
export function pairedInterval(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>, confidence = CONFIDENCE): Interval {
  const diffs: number[] = [];
  for (const [key, x] of [...a.entries()].sort((p, q) => p[0] - q[0])) {
    const y = b.get(key);
    if (y !== undefined && !Number.isNaN(x) && !Number.isNaN(y)) diffs.push(x - y);
  }
  return tInterval(diffs, confidence);
}
