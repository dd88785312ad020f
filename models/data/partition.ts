/**
 * Non-IID partitioning of a training set across K devices (MODEL.md §1, §8): Dirichlet(α) label
 * skew (Hsu et al. 2019, "Measuring the effects of non-identical data distribution") and an
 * optional Dirichlet quantity skew. Seeded; sums and draws in a fixed order.
 *
 * Sizes: with quantitySkewAlpha = 0 the N samples are split as evenly as possible; otherwise
 * shares q ~ Dirichlet(quantitySkewAlpha) over devices, on top of a guaranteed minimum per device.
 * Labels: device k draws class proportions p_k ~ Dirichlet(α); devices then take turns
 * (round-robin, so no device is served last) drawing one sample each from a class chosen by p_k
 * renormalised over the classes with samples left, until every device has its size. Every
 * sample goes to exactly one device.
 */
import type { RandomStream } from '../../util/random';

export class PartitionError extends Error {
  override readonly name = 'PartitionError';
}

/** Indices of `labels` per device. Each device gets at least `minPerDevice` (default min(10, ⌊N/K⌋)) samples. */
export function partitionDirichlet(
  labels: ArrayLike<number>,
  deviceCount: number,
  alpha: number,
  quantitySkewAlpha: number,
  random: RandomStream,
  minPerDevice?: number,
): number[][] {
  const n = labels.length;
  const k = deviceCount;
  if (!Number.isInteger(k) || k < 1) throw new PartitionError(`deviceCount must be a positive integer, got ${k}`);
  if (n < k) throw new PartitionError(`${n} samples cannot give each of ${k} devices at least one`);
  if (!(alpha > 0)) throw new PartitionError(`dirichletAlpha must be > 0, got ${alpha}`);
  if (!(quantitySkewAlpha >= 0)) throw new PartitionError(`quantitySkewAlpha must be >= 0, got ${quantitySkewAlpha}`);
  const minimum = Math.min(minPerDevice ?? 10, Math.floor(n / k));
  // Sizes.
  const sizes = new Array<number>(k).fill(minimum);
  const rest = n - minimum * k;
  const shares = quantitySkewAlpha > 0 ? random.fork('quantity').dirichlet(quantitySkewAlpha, k) : new Array<number>(k).fill(1 / k);
  let given = 0;
  const fractional: { i: number; frac: number }[] = [];
  for (let i = 0; i < k; i++) {
    const exact = (shares[i] as number) * rest;
    const whole = Math.floor(exact);
    sizes[i] = (sizes[i] as number) + whole;
    given += whole;
    fractional.push({ i, frac: exact - whole });
  }
  fractional.sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let j = 0; j < rest - given; j++) {
    const i = (fractional[j % k] as { i: number }).i;
    sizes[i] = (sizes[i] as number) + 1;
  }
  // Class pools, each shuffled.
  let classes = 0;
  for (let i = 0; i < n; i++) classes = Math.max(classes, (labels[i] as number) + 1);
  const pools: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < n; i++) (pools[labels[i] as number] as number[]).push(i);
  const shuffle = random.fork('pools');
  const shuffled = pools.map((p) => shuffle.shuffle(p));
  const cursor = new Array<number>(classes).fill(0);
  const labelRandom = random.fork('labels');
  const props = Array.from({ length: k }, () => labelRandom.dirichlet(alpha, classes));
  const draw = random.fork('draws');
  const out: number[][] = Array.from({ length: k }, () => []);
  let remaining = n;
  while (remaining > 0) {
    for (let d = 0; d < k; d++) {
      const mine = out[d] as number[];
      if (mine.length >= (sizes[d] as number)) continue;
      const p = props[d] as number[];
      let total = 0;
      for (let c = 0; c < classes; c++) if ((cursor[c] as number) < (shuffled[c] as number[]).length) total += p[c] as number;
      let chosen = -1;
      if (total > 0) {
        let u = draw.uniform() * total;
        for (let c = 0; c < classes; c++) {
          if ((cursor[c] as number) >= (shuffled[c] as number[]).length) continue;
          chosen = c;
          u -= p[c] as number;
          if (u < 0) break;
        }
      } else {
        // This device's classes are exhausted: take from the class with most left.
        let most = -1;
        for (let c = 0; c < classes; c++) {
          const left = (shuffled[c] as number[]).length - (cursor[c] as number);
          if (left > most) {
            most = left;
            chosen = c;
          }
        }
      }
      mine.push((shuffled[chosen] as number[])[cursor[chosen] as number] as number);
      cursor[chosen] = (cursor[chosen] as number) + 1;
      remaining--;
    }
  }
  return out;
}
