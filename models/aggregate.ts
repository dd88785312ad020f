/**
 * Aggregation of LoRA copies and task modules (MODEL.md §2, step 5).
 * - 'fedavg': data-size-weighted FedAvg (McMahan et al. 2017) of A and B separately.
 * - 'fedavg-product': average the products ΔW_k = A_k·B_k (the update each device actually
 *   made; the mean of A times the mean of B is not the mean update), then refactor the mean to
 *   rank r by truncated SVD, ΔW ≈ U_r Σ_r V_rᵀ, with A = U_r Σ_r^½ and B = Σ_r^½ V_rᵀ (the best
 *   rank-r approximation, Eckart–Young). Directions with a zero singular value keep FedAvg's
 *   column of A and a zero row of B, so the product is unchanged and training can still move them
 *   (B = 0 everywhere, as at the start, gives exactly FedAvg).
 * Sums run in float64 in the order of `items`, so the result never depends on which worker
 * finished first.
 */
import type { HeadWeights, LoraWeights } from './split';

export type LoraAggregation = 'fedavg' | 'fedavg-product';

/** Thrown for an aggregate that cannot be formed (no items, non-positive weights, mismatched keys). */
export class AggregationError extends Error {
  override readonly name = 'AggregationError';
}

function checkItems(items: readonly { weight: number }[], what: string): number {
  if (items.length === 0) throw new AggregationError(`${what}: nothing to aggregate`);
  let total = 0;
  for (const it of items) {
    if (!(it.weight >= 0) || !Number.isFinite(it.weight))
      throw new AggregationError(`${what}: weights must be finite and >= 0, got ${it.weight}`);
    total += it.weight;
  }
  if (!(total > 0)) throw new AggregationError(`${what}: the weights sum to 0`);
  return total;
}

/** Weighted mean of same-keyed weight sets. */
export function weightedMean(
  items: readonly { weights: Readonly<Record<string, Float32Array>>; weight: number }[],
  what = 'aggregate',
): Record<string, Float32Array> {
  const total = checkItems(items, what);
  const first = items[0]?.weights ?? {};
  const out: Record<string, Float32Array> = {};
  for (const [key, ref] of Object.entries(first)) {
    const acc = new Float64Array(ref.length);
    for (const it of items) {
      const v = it.weights[key];
      if (!v || v.length !== ref.length) throw new AggregationError(`${what}: '${key}' missing or of a different size in one of the items`);
      const w = it.weight / total;
      for (let i = 0; i < v.length; i++) acc[i] = (acc[i] as number) + w * (v[i] as number);
    }
    out[key] = Float32Array.from(acc);
  }
  return out;
}

/** Data-size-weighted aggregation of LoRA copies (`weight` = D_k). */
export function aggregateLora(items: readonly { lora: LoraWeights; weight: number }[], mode: LoraAggregation, rank: number): LoraWeights {
  const avg = weightedMean(
    items.map((it) => ({ weights: it.lora, weight: it.weight })),
    'aggregateLora',
  );
  if (mode === 'fedavg') return avg;
  if (mode !== 'fedavg-product') throw new AggregationError(`aggregateLora: unknown mode '${String(mode)}'`);
  const total = checkItems(items, 'aggregateLora');
  const out: LoraWeights = {};
  for (const keyA of Object.keys(avg).filter((k) => k.endsWith('/A'))) {
    const prefix = keyA.slice(0, -2);
    const keyB = `${prefix}/B`;
    const a0 = avg[keyA] as Float32Array;
    const b0 = avg[keyB];
    if (!b0) throw new AggregationError(`aggregateLora: '${keyB}' missing`);
    const r = rank;
    const dIn = a0.length / r;
    const dOut = b0.length / r;
    if (!Number.isInteger(dIn) || !Number.isInteger(dOut))
      throw new AggregationError(`aggregateLora: '${prefix}' does not have rank ${rank}`);
    // M = Σ w_k A_k B_k / Σ w_k, [dIn, dOut].
    const m = new Float64Array(dIn * dOut);
    for (const it of items) {
      const a = it.lora[keyA] as Float32Array;
      const b = it.lora[keyB] as Float32Array;
      const w = it.weight / total;
      if (w === 0) continue;
      for (let i = 0; i < dIn; i++)
        for (let k = 0; k < r; k++) {
          const aik = w * (a[i * r + k] as number);
          if (aik === 0) continue;
          const row = i * dOut;
          const brow = k * dOut;
          for (let j = 0; j < dOut; j++) m[row + j] = (m[row + j] as number) + aik * (b[brow + j] as number);
        }
    }
    const { a, b } = refactor(m, dIn, dOut, r, a0);
    out[keyA] = a;
    out[keyB] = b;
  }
  return out;
}

/** Rank-r factorisation of M [dIn, dOut] through the eigen-decomposition of MᵀM (cyclic Jacobi). */
export function refactor(
  m: Float64Array,
  dIn: number,
  dOut: number,
  r: number,
  fallbackA: Float32Array,
): { a: Float32Array; b: Float32Array } {
  const g = new Float64Array(dOut * dOut); // MᵀM
  for (let i = 0; i < dIn; i++)
    for (let p = 0; p < dOut; p++) {
      const mip = m[i * dOut + p] as number;
      if (mip === 0) continue;
      for (let q = p; q < dOut; q++) g[p * dOut + q] = (g[p * dOut + q] as number) + mip * (m[i * dOut + q] as number);
    }
  for (let p = 0; p < dOut; p++) for (let q = 0; q < p; q++) g[p * dOut + q] = g[q * dOut + p] as number;
  const { values, vectors } = jacobiEigen(g, dOut);
  const order = Array.from({ length: dOut }, (_, i) => i).sort((x, y) => (values[y] as number) - (values[x] as number) || x - y);
  const a = new Float32Array(dIn * r);
  const b = new Float32Array(r * dOut);
  const top = Math.max(0, values[order[0] as number] as number);
  for (let k = 0; k < r; k++) {
    const idx = order[k] as number;
    const sigma = Math.sqrt(Math.max(0, values[idx] as number));
    if (!(sigma > 1e-6 * Math.sqrt(top)) || sigma === 0) {
      for (let i = 0; i < dIn; i++) a[i * r + k] = fallbackA[i * r + k] as number;
      continue; // B row stays 0: the product is unchanged
    }
    const root = Math.sqrt(sigma);
    for (let j = 0; j < dOut; j++) b[k * dOut + j] = root * (vectors[j * dOut + idx] as number);
    // A[:, k] = M v_k / √σ_k  (= u_k √σ_k)
    for (let i = 0; i < dIn; i++) {
      let s = 0;
      for (let j = 0; j < dOut; j++) s += (m[i * dOut + j] as number) * (vectors[j * dOut + idx] as number);
      a[i * r + k] = s / root;
    }
  }
  return { a, b };
}

/** Eigen-decomposition of a symmetric n×n matrix by cyclic Jacobi rotations; vectors are columns. */
export function jacobiEigen(input: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const s = Float64Array.from(input);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += (s[i] as number) ** 2;
  const tol = 1e-22 * norm;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (s[p * n + q] as number) ** 2;
    if (off <= tol) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = s[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = s[p * n + p] as number;
        const aqq = s[q * n + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < n; k++) {
          const skp = s[k * n + p] as number;
          const skq = s[k * n + q] as number;
          s[k * n + p] = c * skp - sn * skq;
          s[k * n + q] = sn * skp + c * skq;
        }
        for (let k = 0; k < n; k++) {
          const spk = s[p * n + k] as number;
          const sqk = s[q * n + k] as number;
          s[p * n + k] = c * spk - sn * sqk;
          s[q * n + k] = sn * spk + c * sqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = s[i * n + i] as number;
  return { values, vectors: v };
}

/** Data-size-weighted FedAvg of task modules. */
export function aggregateHeads(items: readonly { head: HeadWeights; weight: number }[]): HeadWeights {
  return weightedMean(
    items.map((it) => ({ weights: it.head, weight: it.weight })),
    'aggregateHeads',
  );
}
