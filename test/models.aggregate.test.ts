/** LoRA and head aggregation (MODEL.md §2, step 5): hand-worked cases first. */
import { AggregationError, aggregateHeads, aggregateLora } from '../models';
import { jacobiEigen } from '../models/aggregate';
import { RandomStream } from '../util/random';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

/** A·B for A [dIn, r], B [r, dOut]. */
function product(a: Float32Array, b: Float32Array, dIn: number, r: number, dOut: number): Float64Array {
  const m = new Float64Array(dIn * dOut);
  for (let i = 0; i < dIn; i++)
    for (let k = 0; k < r; k++)
      for (let j = 0; j < dOut; j++) m[i * dOut + j] = (m[i * dOut + j] as number) + (a[i * r + k] as number) * (b[k * dOut + j] as number);
  return m;
}

describe('aggregateLora fedavg', () => {
  it('averages A and B weighted by data size (hand-worked)', () => {
    // Prepare: two devices with 1 and 3 samples, rank 1, d 2
    const items = [
      { lora: { 'block0/query/A': f32([1, 2]), 'block0/query/B': f32([0, 4]) }, weight: 1 },
      { lora: { 'block0/query/A': f32([5, 6]), 'block0/query/B': f32([4, 0]) }, weight: 3 },
    ];
    // Execute
    const out = aggregateLora(items, 'fedavg', 1);
    // Assert: (1·x + 3·y) / 4
    expect(Array.from(out['block0/query/A'] as Float32Array)).toEqual([4, 5]);
    expect(Array.from(out['block0/query/B'] as Float32Array)).toEqual([3, 1]);
  });

  it('fails on an empty list or zero total weight, as an AggregationError', () => {
    expect(() => aggregateLora([], 'fedavg', 1)).toThrow(AggregationError);
    expect(() => aggregateLora([{ lora: { x: f32([1]) }, weight: 0 }], 'fedavg', 1)).toThrow(/sum to 0/);
  });
});

describe('aggregateLora fedavg-product', () => {
  it('reproduces the mean product exactly when it has rank r', () => {
    // Devices share A (as after one round from a common start) and differ in B: Σ w A B_k = A · mean(B), rank r.
    const r = RandomStream.fromSeed(3, 'agg');
    const dIn = 6,
      dOut = 5,
      rank = 2;
    const a = Float32Array.from({ length: dIn * rank }, () => r.normal());
    const items = [1, 2, 5].map((w) => ({
      weight: w,
      lora: { 'block0/value/A': a, 'block0/value/B': Float32Array.from({ length: rank * dOut }, () => r.normal()) },
    }));
    const out = aggregateLora(items, 'fedavg-product', rank);
    const got = product(out['block0/value/A'] as Float32Array, out['block0/value/B'] as Float32Array, dIn, rank, dOut);
    const want = new Float64Array(dIn * dOut);
    for (const it of items) {
      const p = product(it.lora['block0/value/A'], it.lora['block0/value/B'], dIn, rank, dOut);
      for (let i = 0; i < want.length; i++) want[i] = (want[i] as number) + (it.weight / 8) * (p[i] as number);
    }
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 4);
  });

  it('equals FedAvg when every B is zero (the first round), so no adapter direction dies', () => {
    const items = [
      { lora: { 'block0/query/A': f32([1, 2, 3, 4]), 'block0/query/B': f32([0, 0, 0, 0]) }, weight: 1 },
      { lora: { 'block0/query/A': f32([3, 2, 1, 0]), 'block0/query/B': f32([0, 0, 0, 0]) }, weight: 1 },
    ];
    const out = aggregateLora(items, 'fedavg-product', 2);
    expect(Array.from(out['block0/query/A'] as Float32Array)).toEqual([2, 2, 2, 2]);
    expect(Array.from(out['block0/query/B'] as Float32Array)).toEqual([0, 0, 0, 0]);
  });

  it('keeps the best rank-r approximation when the mean has higher rank (Eckart–Young)', () => {
    // Two rank-1 updates along orthogonal directions, weights 3 and 1: the rank-1 refactor keeps the heavier one.
    const items = [
      { lora: { 'b/A': f32([1, 0]), 'b/B': f32([2, 0]) }, weight: 3 },
      { lora: { 'b/A': f32([0, 1]), 'b/B': f32([0, 2]) }, weight: 1 },
    ];
    const out = aggregateLora(items, 'fedavg-product', 1);
    const p = product(out['b/A'] as Float32Array, out['b/B'] as Float32Array, 2, 1, 2);
    expect(Array.from(p).map((x) => Number(x.toFixed(6)))).toEqual([1.5, 0, 0, 0]);
  });
});

describe('jacobiEigen', () => {
  it('diagonalises a symmetric matrix: V diag(λ) Vᵀ = S', () => {
    const r = RandomStream.fromSeed(5, 'eig');
    const n = 12;
    const m = Float64Array.from({ length: n * n }, () => r.normal());
    const s = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = (m[i * n + j] as number) + (m[j * n + i] as number);
    const { values, vectors } = jacobiEigen(s, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += (vectors[i * n + k] as number) * (values[k] as number) * (vectors[j * n + k] as number);
        expect(acc).toBeCloseTo(s[i * n + j] as number, 9);
      }
  });
});

describe('aggregateHeads', () => {
  it('is the data-size-weighted mean, summed in list order', () => {
    const out = aggregateHeads([
      { head: { 'head/dense/bias': f32([0, 10]) }, weight: 3 },
      { head: { 'head/dense/bias': f32([4, 2]) }, weight: 1 },
    ]);
    expect(Array.from(out['head/dense/bias'] as Float32Array)).toEqual([1, 8]);
  });
});
