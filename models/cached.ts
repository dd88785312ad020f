/**
 * The server's encoder pair without the recomputation: `encoderForwardCached` runs the encoder
 * ('fast' mode) and returns, next to the features, an `EncoderCache` of the intermediate values the
 * backward pass needs; `encoderBackwardCached` back-propagates the cut gradient from that cache
 * instead of running the forward pass again inside tf.grads (split.ts's `encoderBackward`).
 *
 * The cache is plain data (Float32Arrays and shapes), or a key to the same values kept as tensors
 * in a worker's store (keptCache.ts) together with the activations that rebuild them, so an actor
 * can keep it in its state between the two messages. The backward pass is written out by hand and performs, op for op
 * and in the same order, what tfjs's tape does for `encoderGradients(..., 'fast')`: the same kernels
 * on the same inputs (tfjs's registered gradients of Mean, Sub, Mul, Rsqrt, Softmax, Sigmoid,
 * Transpose and Reshape, the custom gradients of ops.ts), gradients of a tensor used several times
 * summed in the tape's order (reverse creation order), and nothing computed that tfjs prunes (the
 * lowest block's LayerNorm, which no LoRA weight feeds). So its gradients, the updated LoRA and the
 * Adam state are bit-identical to `encoderBackward`'s (test/models.cache.test.ts), and the features
 * to `encoderForward`'s. Keep the two in step if encoderApply or the ops change.
 *
 * Multi-adapter batching: the `...Many` functions run several devices at once, as an
 * edge server would. Their activations are stacked by rows; the frozen weights act on all rows in
 * one product per projection, each device's LoRA adapter on its own rows only (as multi-LoRA
 * serving systems do: S-LoRA, Sheng et al. 2023; Punica, Chen et al. 2023), and LayerNorm,
 * attention and GELU act per sample, so every device gets what it would get alone (to within
 * 1e-5 relative, test/models.batched.test.ts). Adapters use 2-D products on row slices (wasm's
 * batched 3-D matMul is 3-8x slower than the same 2-D products, bench/results/models.txt). Each
 * device's cache is its own rows of the stacked one, so the backward pass may batch a different
 * set of devices than the forward pass did. One device alone takes the single-device ops
 * (loraDense), which keeps `encoderForwardCached` bit-identical to `encoderForward`.
 *
 * Cost: the cache of the default model (d 128, 2 blocks, FFN 256, LoRA on query and value) at batch
 * 16 is 2.7 MB, against 0.14 MB for the activations it replaces; copied out as plain data it makes
 * the forward pass about 10-20% slower (kept as tensors, nothing is copied), and the backward pass
 * is about half of encoderBackward's.
 */
import * as tf from '@tensorflow/tfjs';
import { loraShapes, sizeOf, type LoraTarget, type ResolvedModelConfig } from './config';
import type { Foundation } from './foundation';
import { frozenDense, loraDense } from './ops';
import { adamUpdate, type OptimizerState } from './optimizer';
import type { KeptTensors } from './keptCache';
import { checkCut, ownedValues, ShapeError, tensors, tidyData, toCut, type Cut, type LoraWeights } from './split';
import { mergeHeads, splitHeads } from './transformer';

type T2 = tf.Tensor2D;
type T3 = tf.Tensor3D;

/**
 * What the hand-written backward pass needs from one forward pass, structured-clone safe: the
 * values themselves, or a key to them in a worker's store and the activations to rebuild them.
 * `values` (and the kept tensors) by name `block<i>/<what>`:
 * - `ln1/centered` [n, d], `ln1/varEps` [n, 1], `ln1/rstd` [n, 1] (blocks above the lowest only),
 *   and the same for `ln2/...` (every block): LayerNorm's x − mean, variance + ε and its rsqrt;
 * - `h1` [n, d]: the attention's input (when query, key or value has an adapter);
 * - `q`, `k`, `v` [b·h, L, dh] and `probs` [b·h, L, L]: as far as the backward pass needs them;
 * - `merged` [n, d]: the output projection's input (when it has an adapter);
 * - `ffn1` [n, ffn] and `sigmoid` [n, ffn]: the GELU's input and its sigmoid.
 * where n = b·L.
 */
export interface EncoderCache {
  /** Batch size b of the forward pass. */
  batchSize: number;
  /** The intermediates as plain data; absent when they are kept as tensors under `key`. */
  values?: Record<string, Cut>;
  /** Key of the intermediates kept in this thread's store (models/keptCache.ts). */
  key?: string;
  /** With `key`: the forward pass's input, to run it again where the store holds no such key. */
  activations?: Cut;
}

/** One device's share of a batched forward pass. */
export interface CachedForwardItem {
  readonly lora: LoraWeights;
  readonly activations: Cut;
}

/** One device's share of a batched backward pass: its LoRA copy, the cache of its forward pass and its cut gradient. */
export interface CachedGradientItem {
  readonly lora: LoraWeights;
  readonly cache: EncoderCache;
  readonly featureGrad: Cut;
}

/** A CachedGradientItem with the device's optimiser state and learning rate, for its Adam step. */
export interface CachedBackwardItem extends CachedGradientItem {
  readonly loraOpt: OptimizerState;
  readonly lr: number;
}

/** The devices of one batched pass: each one's LoRA tensors and its rows (b_k·L) in the stack. */
interface Devices {
  readonly loras: ReadonlyArray<Record<string, tf.Tensor>>;
  readonly rows: readonly number[];
}

/** What block `i` back-propagates into: its input (any block below has adapters) and its Q, K, V. */
interface BlockPlan {
  needX: boolean;
  lora: Record<LoraTarget, boolean>;
  needQ: boolean;
  needK: boolean;
  needV: boolean;
}

function blockPlan(c: ResolvedModelConfig, i: number): BlockPlan {
  // Every block carries the same adapters (loraShapes), so the gradient reaches the input of
  // every block but the lowest; tfjs prunes the lowest block's LayerNorm and projection inputs.
  const needX = i > 0;
  const has = (t: LoraTarget): boolean => c.loraTargets.includes(t);
  const lora = { query: has('query'), key: has('key'), value: has('value'), output: has('output') };
  return { needX, lora, needQ: needX || lora.query, needK: needX || lora.key, needV: needX || lora.value };
}

const t2 = (x: tf.Tensor): T2 => tf.transpose(x as T2) as T2;
const bt = (x: tf.Tensor): T3 => tf.transpose(x as T3, [0, 2, 1]) as T3;

function weight(map: Readonly<Record<string, tf.Tensor>>, name: string): tf.Tensor {
  const t = map[name];
  if (!t) throw new Error(`internal: tensor '${name}' missing`);
  return t;
}

/** ops.ts's layerNorm, op for op, also returning what its gradient needs. */
function layerNormParts(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): { y: T2; centered: tf.Tensor; varEps: tf.Tensor; rstd: tf.Tensor } {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.mul(centered, centered), -1, true);
  const varEps = tf.add(variance, 1e-5);
  const rstd = tf.rsqrt(varEps);
  return { y: tf.add(tf.mul(tf.mul(centered, rstd), gamma), beta) as T2, centered, varEps, rstd };
}

/**
 * LayerNorm's backward pass as tfjs's tape runs it (Add, Mul, Mul, Rsqrt, Add, Mean, Mul(c, c),
 * Sub, Mean, in reverse): returns `acc` + ∂/∂x, summed in the tape's order ((acc + from Sub) +
 * from Mean), `acc` being the gradient x already received from the residual add.
 */
function layerNormBackward(dy: tf.Tensor, gamma: tf.Tensor, centered: tf.Tensor, varEps: tf.Tensor, rstd: tf.Tensor, acc: tf.Tensor): tf.Tensor {
  const [n, d] = centered.shape as [number, number];
  const dNormed = tf.mul(dy, gamma); // Mul(normed, gamma), a
  let dC = tf.mul(dNormed, rstd); // Mul(c, rstd), a
  const dRstd = tf.reshape(tf.sum(tf.mul(dNormed, centered), [1]), [n, 1]); // Mul(c, rstd), b (broadcast: summed)
  const dVarEps = tf.neg(tf.div(dRstd, tf.mul(tf.pow(varEps, 1.5), 2))); // Rsqrt
  const dSquares = tf.div(tf.mul(tf.reshape(dVarEps, [n, 1]), tf.ones([n, d], 'float32')), d); // Mean
  dC = tf.add(dC, tf.mul(dSquares, centered)); // Mul(c, c), a
  dC = tf.add(dC, tf.mul(dSquares, centered)); // Mul(c, c), b
  const dMean = tf.reshape(tf.neg(tf.sum(dC, [1])), [n, 1]); // Sub(x, mean), b
  const fromSub = dC; // Sub(x, mean), a
  const fromMean = tf.div(tf.mul(tf.reshape(dMean, [n, 1]), tf.ones([n, d], 'float32')), d); // Mean(x)
  return tf.add(tf.add(acc, fromSub), fromMean);
}

/** The adapter's gradients, as ops.ts's loraDense gradient computes them: dA, dB and du (its gradient at x·A). */
function adapterGrads(dy: T2, x: T2, a: T2, bb: T2, scale: number): { dA: tf.Tensor; dB: tf.Tensor; du: T2 } {
  const u = tf.matMul(x, a);
  const dB = tf.mul(tf.matMul(t2(u), dy), scale);
  const du = tf.mul(tf.matMul(dy, t2(bb)), scale) as T2;
  const dA = tf.matMul(t2(x), du);
  return { dA, dB, du };
}

/** ops.ts's loraDense gradient: dA, dB and (when `needDx`) dx. */
function loraDenseBackward(dy: T2, x: T2, wT: T2, a: T2, bb: T2, scale: number, needDx: boolean): { dA: tf.Tensor; dB: tf.Tensor; dx: tf.Tensor | null } {
  const { dA, dB, du } = adapterGrads(dy, x, a, bb, scale);
  const dx = needDx ? tf.add(tf.matMul(dy, wT), tf.matMul(du, t2(a))) : null;
  return { dA, dB, dx };
}

/** Device k's adapter (A, B) on projection `name`. */
function adapterOf(devices: Devices, k: number, name: string): [T2, T2] {
  const lora = devices.loras[k] as Record<string, tf.Tensor>;
  return [lora[`${name}/A`] as T2, lora[`${name}/B`] as T2];
}

/** How an error names device k of n: nothing when it is the only one. */
function deviceLabel(k: number, n: number): string {
  return n === 1 ? '' : `device ${k} `;
}

/**
 * The projection `name` for every device: x·W + b on all rows, plus s·(x_k·A_k)·B_k on device k's
 * rows when `name` carries an adapter (loraDense's ops, device by device on its row slice).
 */
function projectMany(foundation: Foundation, devices: Devices, name: string, x: T2): T2 {
  const kernel = weight(foundation.weights, `${name}/kernel`) as T2;
  const bias = weight(foundation.weights, `${name}/bias`) as tf.Tensor1D;
  const wT = weight(foundation.transposed, `${name}/kernel`) as T2;
  const first = devices.loras[0] as Record<string, tf.Tensor>;
  if (!first[`${name}/A`]) return frozenDense(x, kernel, wT, bias);
  const scale = foundation.config.loraAlpha / foundation.config.loraRank;
  if (devices.loras.length === 1) return loraDense(x, kernel, wT, bias, ...adapterOf(devices, 0, name), scale);
  const xs = splitRows(x, devices.rows) as T2[];
  const delta = tf.concat(xs.map((xk, k) => {
    const [a, bb] = adapterOf(devices, k, name);
    return tf.matMul(tf.matMul(xk, a), tf.mul(bb, scale) as T2);
  }), 0);
  return tf.add(tf.fused.matMul({ a: x, b: kernel, bias }), delta) as T2;
}

/** loraDenseBackward for every device on its row slice: dA_k, dB_k, and dx = dy·Wᵀ + [du_k·A_kᵀ] over all rows. */
function projectManyBackward(devices: Devices, name: string, dy: T2, x: T2, wT: T2, scale: number, needDx: boolean): { dA: tf.Tensor[]; dB: tf.Tensor[]; dx: tf.Tensor | null } {
  if (devices.loras.length === 1) {
    const r = loraDenseBackward(dy, x, wT, ...adapterOf(devices, 0, name), scale, needDx);
    return { dA: [r.dA], dB: [r.dB], dx: r.dx };
  }
  const dys = splitRows(dy, devices.rows) as T2[];
  const xs = splitRows(x, devices.rows) as T2[];
  const dA: tf.Tensor[] = [];
  const dB: tf.Tensor[] = [];
  const dxs: tf.Tensor[] = [];
  xs.forEach((xk, k) => {
    const [a, bb] = adapterOf(devices, k, name);
    const g = adapterGrads(dys[k] as T2, xk, a, bb, scale);
    dA.push(g.dA);
    dB.push(g.dB);
    if (needDx) dxs.push(tf.matMul(g.du, t2(a)));
  });
  return { dA, dB, dx: needDx ? tf.add(tf.matMul(dy, wT), tf.concat(dxs, 0)) : null };
}

/** Checks every device's cut (`what` names the device when there are several) and returns its samples. */
function checkCuts(foundation: Foundation, cuts: readonly Cut[], fn: string, name: string): number[] {
  if (cuts.length === 0) throw new ShapeError(`${fn}: no devices`);
  return cuts.map((cut, k) => checkCut(foundation, cut, cuts.length === 1 ? `${fn} ${name}` : `${fn}: ${deviceLabel(k, cuts.length)}${name}`));
}

/**
 * Row blocks stacked by samples, as one tensor of `shape` (the block itself when there is one).
 * Stacked inside the backend: a JS buffer of the whole batch costs more (page faults of a fresh
 * multi-megabyte allocation) than the products it feeds.
 */
function stackRows(parts: readonly Cut[], shape: number[]): tf.Tensor {
  if (parts.length === 1) return tf.tensor((parts[0] as Cut).data, shape, 'float32');
  return tf.concat(parts.map((p) => tf.tensor(p.data, p.shape as number[], 'float32')), 0).reshape(shape);
}

/** The devices' cuts stacked by samples: [Σ b_k, L, d]. */
function stackCuts(cuts: readonly Cut[]): tf.Tensor3D {
  const [, l, d] = (cuts[0] as Cut).shape as [number, number, number];
  const total = cuts.reduce((n, c) => n + (c.shape[0] as number), 0);
  return stackRows(cuts, [total, l, d]) as tf.Tensor3D;
}

/** Each block of `rows` rows of `t`, in order (linear in the rows on wasm: see wasmSlice.ts). */
function splitRows(t: tf.Tensor, rows: readonly number[]): tf.Tensor[] {
  return tf.split(t, rows as number[], 0);
}

/** Each device's rows of a stacked tensor whose leading dimension is proportional to the samples. */
function splitSamples(t: tf.Tensor, samples: readonly number[], total: number): tf.Tensor[] {
  const perSample = (t.shape[0] as number) / total;
  return splitRows(t, samples.map((b) => b * perSample));
}

/**
 * Server: the encoder run once over the stacked activations of several devices, each with its own
 * LoRA copy → each device's features [b_k, L, d] and its cache for encoderGradientsCachedMany.
 */
export function encoderForwardCachedMany(foundation: Foundation, items: readonly CachedForwardItem[], keeping?: { readonly store: KeptTensors; readonly keys: readonly string[] }): Array<{ features: Cut; cache: EncoderCache }> {
  const keepAs = keeping?.keys;
  const samples = checkCuts(foundation, items.map((it) => it.activations), 'encoderForwardCached', 'activations');
  if (keepAs && keepAs.length !== items.length) throw new ShapeError(`encoderForwardCached: ${items.length} devices but ${keepAs.length} keys`);
  const c = foundation.config;
  const b = samples.reduce((a, x) => a + x, 0);
  return tidyData(() => {
    const devices: Devices = { loras: items.map((it, k) => tensors(it.lora, loraShapes(c), items.length === 1 ? 'lora' : `lora of device ${k}`)), rows: samples.map((s) => s * c.tokens) };
    const { features, keep } = forwardTensors(foundation, devices, stackCuts(items.map((it) => it.activations)), b);
    const feats = items.length === 1 ? [toCut(features)] : splitSamples(features, samples, b).map(toCut);
    const names = Object.keys(keep);
    const parts = names.map((name) => (items.length === 1 ? [keep[name] as tf.Tensor] : splitSamples(keep[name] as tf.Tensor, samples, b)));
    return samples.map((bk, k) => {
      const mine: Record<string, tf.Tensor> = {};
      names.forEach((name, j) => (mine[name] = (parts[j] as tf.Tensor[])[k] as tf.Tensor));
      if (keepAs) {
        const key = keepAs[k] as string;
        for (const t of Object.values(mine)) tf.keep(t);
        keeping?.store.keep(key, mine);
        return { features: feats[k] as Cut, cache: { batchSize: bk, key, activations: (items[k] as CachedForwardItem).activations } };
      }
      const values: Record<string, Cut> = {};
      for (const [name, t] of Object.entries(mine)) values[name] = toCut(t);
      return { features: feats[k] as Cut, cache: { batchSize: bk, values } };
    });
  });
}

/** The encoder over the stacked activations x [b, L, d] of `devices`: the features and what the backward pass needs, as tensors. */
function forwardTensors(foundation: Foundation, devices: Devices, activations: tf.Tensor3D, b: number): { features: tf.Tensor; keep: Record<string, tf.Tensor> } {
  const c = foundation.config;
  const w = foundation.weights;
  const project = (name: string, x: T2): T2 => projectMany(foundation, devices, name, x);
  const invSqrt = 1 / Math.sqrt(c.dModel / c.heads);
  const keep: Record<string, tf.Tensor> = {};
  let x = tf.reshape(activations, [b * c.tokens, c.dModel]) as T2;
  for (let i = 0; i < c.blocks; i++) {
    const pre = `block${i}`;
    const plan = blockPlan(c, i);
    const ln1 = layerNormParts(x, weight(w, `${pre}/ln1/gamma`), weight(w, `${pre}/ln1/beta`));
    if (plan.needX) Object.assign(keep, { [`${pre}/ln1/centered`]: ln1.centered, [`${pre}/ln1/varEps`]: ln1.varEps, [`${pre}/ln1/rstd`]: ln1.rstd });
    if (plan.lora.query || plan.lora.key || plan.lora.value) keep[`${pre}/h1`] = ln1.y;
    const q = splitHeads(c, project(`${pre}/query`, ln1.y), b);
    const k = splitHeads(c, project(`${pre}/key`, ln1.y), b);
    const v = splitHeads(c, project(`${pre}/value`, ln1.y), b);
    const probs = tf.softmax(tf.mul(tf.matMul(q, tf.transpose(k, [0, 2, 1]) as T3), invSqrt)) as T3;
    const merged = mergeHeads(c, tf.matMul(probs, v), b);
    if (plan.needK) keep[`${pre}/q`] = q;
    if (plan.needQ) keep[`${pre}/k`] = k;
    if (plan.needQ || plan.needK) keep[`${pre}/v`] = v;
    if (plan.needQ || plan.needK || plan.needV) keep[`${pre}/probs`] = probs;
    if (plan.lora.output) keep[`${pre}/merged`] = merged;
    x = tf.add(x, project(`${pre}/output`, merged)) as T2;
    const ln2 = layerNormParts(x, weight(w, `${pre}/ln2/gamma`), weight(w, `${pre}/ln2/beta`));
    const f1 = project(`${pre}/ffn1`, ln2.y);
    const sig = tf.sigmoid(tf.mul(f1, 1.702));
    Object.assign(keep, { [`${pre}/ln2/centered`]: ln2.centered, [`${pre}/ln2/varEps`]: ln2.varEps, [`${pre}/ln2/rstd`]: ln2.rstd, [`${pre}/ffn1`]: f1, [`${pre}/sigmoid`]: sig });
    x = tf.add(x, project(`${pre}/ffn2`, tf.mul(f1, sig) as T2)) as T2;
  }
  return { features: tf.reshape(x, [b, c.tokens, c.dModel]), keep };
}

/** Server: the encoder with one device's LoRA copy → features [b, L, d] (bit-identical to encoderForward) and the cache for encoderBackwardCached. */
export function encoderForwardCached(foundation: Foundation, lora: LoraWeights, activations: Cut): { features: Cut; cache: EncoderCache } {
  return encoderForwardCachedMany(foundation, [{ lora, activations }])[0] as { features: Cut; cache: EncoderCache };
}

/**
 * Each device's cache as tensors: from its plain data, from this thread's store, or (a key this
 * thread does not hold) by running its forward pass again. Taken entries go to `taken`, to be
 * freed by the caller.
 */
function cacheTensors(foundation: Foundation, items: readonly CachedGradientItem[], devices: Devices, store: KeptTensors | undefined, taken: Array<Record<string, tf.Tensor>>): Array<Record<string, tf.Tensor>> {
  return items.map((it, k) => {
    const { values, key, activations } = it.cache;
    if (values) {
      const out: Record<string, tf.Tensor> = {};
      for (const [name, v] of Object.entries(values)) {
        if (v.data.length !== sizeOf(v.shape)) throw new ShapeError(`encoderBackwardCached: ${deviceLabel(k, items.length)}cache entry '${name}' has ${v.data.length} values for shape [${v.shape.join(', ')}]`);
        out[name] = tf.tensor(v.data, v.shape, 'float32');
      }
      return out;
    }
    const kept = key !== undefined ? store?.take(key) : undefined;
    if (kept) {
      taken.push(kept);
      return kept;
    }
    if (!activations) throw new ShapeError(`encoderBackwardCached: ${deviceLabel(k, items.length)}cache has neither values nor activations`);
    const one: Devices = { loras: [devices.loras[k] as Record<string, tf.Tensor>], rows: [it.cache.batchSize * foundation.config.tokens] };
    return forwardTensors(foundation, one, tf.tensor3d(activations.data, activations.shape as [number, number, number]), it.cache.batchSize).keep;
  });
}

/** The devices' caches stacked by samples, entry by entry: (name, shape of b samples) → tensor; checks each device's entry. */
function stackCaches(items: readonly CachedGradientItem[], perDevice: ReadonlyArray<Record<string, tf.Tensor>>, what: string): (name: string, shapeOf: (b: number) => number[]) => tf.Tensor {
  return (name, shapeOf) => {
    const parts = items.map((it, k) => {
      const v = (perDevice[k] as Record<string, tf.Tensor>)[name];
      const shape = shapeOf(it.cache.batchSize);
      if (!v || v.shape.join() !== shape.join()) throw new ShapeError(`${what}: ${deviceLabel(k, items.length)}cache entry '${name}' missing or not of shape [${shape.join(', ')}]`);
      return v;
    });
    return parts.length === 1 ? (parts[0] as tf.Tensor) : tf.concat(parts, 0);
  };
}

/**
 * Server: each device's gradients with respect to its LoRA copy, from one backward pass over the
 * stacked caches and cut gradients of several devices (bit-identical to encoderGradients for one).
 */
export function encoderGradientsCachedMany(foundation: Foundation, items: readonly CachedGradientItem[], store?: KeptTensors): LoraWeights[] {
  const what = 'encoderBackwardCached';
  const c = foundation.config;
  const samples = checkCuts(foundation, items.map((it) => it.featureGrad), what, 'featureGrad');
  items.forEach((it, k) => {
    if (samples[k] !== it.cache.batchSize) throw new ShapeError(`${what}: ${deviceLabel(k, items.length)}a cache of ${it.cache.batchSize} rows but ${samples[k]} gradient rows`);
  });
  const b = samples.reduce((a, x) => a + x, 0);
  const n = b * c.tokens;
  const d = c.dModel;
  const dh = d / c.heads;
  const scale = c.loraAlpha / c.loraRank;
  const invSqrt = 1 / Math.sqrt(d / c.heads);
  const taken: Array<Record<string, tf.Tensor>> = [];
  try {
    return tidyData(() => {
      const w = foundation.weights;
      const wT = (name: string): T2 => weight(foundation.transposed, `${name}/kernel`) as T2;
      const devices: Devices = { loras: items.map((it, k) => tensors(it.lora, loraShapes(c), items.length === 1 ? 'lora' : `lora of device ${k}`)), rows: samples.map((s) => s * c.tokens) };
      const stacked = stackCaches(items, cacheTensors(foundation, items, devices, store, taken), what);
      // Shapes per device of b samples: rows b·L ([n, ·]) or b·h ([b·h, ·, ·]).
      const rowsBy = (cols: number) => (bk: number) => [bk * c.tokens, cols];
      const headsBy = (l: number, last: number) => (bk: number) => [bk * c.heads, l, last];
      const out: Array<Record<string, tf.Tensor>> = items.map(() => ({}));
      const record = (name: string, grads: tf.Tensor[]): void => grads.forEach((g, k) => ((out[k] as Record<string, tf.Tensor>)[name] = g));
      // Reshape [b, L, d] → [n, d]: its gradient is the reshaped cut gradient.
      let dx = tf.reshape(stackCuts(items.map((it) => it.featureGrad)), [n, d]);
      for (let i = c.blocks - 1; i >= 0; i--) {
        const pre = `block${i}`;
        const plan = blockPlan(c, i);
        // x3 = x2 + ffn2(gelu(ffn1(LN2(x2)))): both inputs of the add receive dx.
        const f1 = stacked(`${pre}/ffn1`, rowsBy(c.ffnDim));
        const sig = stacked(`${pre}/sigmoid`, rowsBy(c.ffnDim));
        const dGelu = tf.matMul(dx as T2, wT(`${pre}/ffn2`));
        let dF1 = tf.mul(dGelu, sig); // Mul(f1, σ), a
        const dSig = tf.mul(dGelu, f1); // Mul(f1, σ), b
        const dZ = tf.mul(dSig, tf.mul(sig, tf.sub(tf.scalar(1), sig))); // Sigmoid
        dF1 = tf.add(dF1, tf.mul(dZ, 1.702)); // Mul(f1, 1.702), a
        const dH2 = tf.matMul(dF1 as T2, wT(`${pre}/ffn1`));
        const dX2 = layerNormBackward(dH2, weight(w, `${pre}/ln2/gamma`), stacked(`${pre}/ln2/centered`, rowsBy(d)), stacked(`${pre}/ln2/varEps`, rowsBy(1)), stacked(`${pre}/ln2/rstd`, rowsBy(1)), dx);
        // x2 = x + output(merge(attention)): both inputs receive dX2.
        let dMerged: tf.Tensor;
        if (plan.lora.output) {
          const r = projectManyBackward(devices, `${pre}/output`, dX2 as T2, stacked(`${pre}/merged`, rowsBy(d)) as T2, wT(`${pre}/output`), scale, true);
          record(`${pre}/output/A`, r.dA);
          record(`${pre}/output/B`, r.dB);
          dMerged = r.dx as tf.Tensor;
        } else dMerged = tf.matMul(dX2 as T2, wT(`${pre}/output`));
        const dCtx = splitHeads(c, dMerged as T2, b); // mergeHeads' gradient
        // ctx = probs·v; probs = softmax(s·invSqrt); s = q·kᵀ (bmm gradients: plain products against transposed copies).
        const dQKV: Partial<Record<'query' | 'key' | 'value', tf.Tensor>> = {};
        if (plan.needV) dQKV.value = tf.matMul(bt(stacked(`${pre}/probs`, headsBy(c.tokens, c.tokens))), dCtx);
        if (plan.needQ || plan.needK) {
          const probs = stacked(`${pre}/probs`, headsBy(c.tokens, c.tokens));
          const dProbs = tf.matMul(dCtx, bt(stacked(`${pre}/v`, headsBy(c.tokens, dh))));
          const dyTimesY = tf.mul(dProbs, probs); // Softmax
          const dLogits = tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [2], true), probs));
          const dS = tf.mul(dLogits, invSqrt) as T3;
          if (plan.needQ) dQKV.query = tf.matMul(dS, stacked(`${pre}/k`, headsBy(c.tokens, dh)) as T3);
          if (plan.needK) dQKV.key = tf.transpose(tf.matMul(bt(stacked(`${pre}/q`, headsBy(c.tokens, dh))), dS), [0, 2, 1]);
        }
        // The projections of LN1's output, in the tape's reverse order: value, key, query.
        const h1 = plan.lora.query || plan.lora.key || plan.lora.value ? (stacked(`${pre}/h1`, rowsBy(d)) as T2) : null;
        let dH1: tf.Tensor | null = null;
        for (const t of ['value', 'key', 'query'] as const) {
          const dt = dQKV[t];
          if (!dt) continue;
          const dProj = mergeHeads(c, dt as T3, b); // splitHeads' gradient
          let dIn: tf.Tensor | null = null;
          if (plan.lora[t]) {
            const r = projectManyBackward(devices, `${pre}/${t}`, dProj, h1 as T2, wT(`${pre}/${t}`), scale, plan.needX);
            record(`${pre}/${t}/A`, r.dA);
            record(`${pre}/${t}/B`, r.dB);
            dIn = r.dx;
          } else if (plan.needX) dIn = tf.matMul(dProj, wT(`${pre}/${t}`));
          if (dIn) dH1 = dH1 ? tf.add(dH1, dIn) : dIn;
        }
        if (!plan.needX) break;
        dx = layerNormBackward(dH1 as tf.Tensor, weight(w, `${pre}/ln1/gamma`), stacked(`${pre}/ln1/centered`, rowsBy(d)), stacked(`${pre}/ln1/varEps`, rowsBy(1)), stacked(`${pre}/ln1/rstd`, rowsBy(1)), dX2);
      }
      return out.map((grads, k) => {
        const lora: LoraWeights = {};
        for (const name of Object.keys(devices.loras[k] as Record<string, tf.Tensor>)) {
          const t = grads[name];
          if (!t) throw new Error(`internal: no gradient for '${name}'`);
          lora[name] = ownedValues(t);
        }
        return lora;
      });
    });
  } finally {
    for (const kept of taken) for (const t of Object.values(kept)) t.dispose();
  }
}

/** Server: gradients of the device's loss with respect to its LoRA copy, from the forward pass's cache (bit-identical to encoderGradients). */
export function encoderGradientsCached(foundation: Foundation, lora: LoraWeights, cache: EncoderCache, featureGrad: Cut): LoraWeights {
  return encoderGradientsCachedMany(foundation, [{ lora, cache, featureGrad }])[0] as LoraWeights;
}

/** Server: encoderGradientsCachedMany, then each device's Adam step on its own LoRA copy. */
export function encoderBackwardCachedMany(foundation: Foundation, items: readonly CachedBackwardItem[], store?: KeptTensors): Array<{ lora: LoraWeights; loraOpt: OptimizerState }> {
  return adamSteps(items, encoderGradientsCachedMany(foundation, items, store));
}

/** Each device's Adam step on its own LoRA copy with its gradients (`grads[k]` for `items[k]`). */
export function adamSteps(items: ReadonlyArray<Pick<CachedBackwardItem, 'lora' | 'loraOpt' | 'lr'>>, grads: readonly LoraWeights[]): Array<{ lora: LoraWeights; loraOpt: OptimizerState }> {
  return items.map((it, k) => {
    const u = adamUpdate(it.lora, grads[k] as LoraWeights, it.loraOpt, it.lr);
    return { lora: u.weights, loraOpt: u.state };
  });
}

/** Server: back-propagates the device's cut gradient into its LoRA copy from the forward pass's cache and applies one Adam step (bit-identical to encoderBackward). */
export function encoderBackwardCached(foundation: Foundation, lora: LoraWeights, loraOpt: OptimizerState, cache: EncoderCache, featureGrad: Cut, lr: number): { lora: LoraWeights; loraOpt: OptimizerState } {
  return encoderBackwardCachedMany(foundation, [{ lora, loraOpt, cache, featureGrad, lr }])[0] as { lora: LoraWeights; loraOpt: OptimizerState };
}
