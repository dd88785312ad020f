/**
 * The server's encoder pair without the recomputation: `encoderForwardCached` runs the encoder
 * ('fast' mode) and returns, next to the features, an `EncoderCache` of the intermediate values the
 * backward pass needs; `encoderBackwardCached` back-propagates the cut gradient from that cache
 * instead of running the forward pass again inside tf.grads (split.ts's `encoderBackward`).
 *
 * The cache is plain data (Float32Arrays and shapes, no tensors), so an actor can keep it in its
 * state between the two messages. The backward pass is written out by hand and performs, op for op
 * and in the same order, what tfjs's tape does for `encoderGradients(..., 'fast')`: the same kernels
 * on the same inputs (tfjs's registered gradients of Mean, Sub, Mul, Rsqrt, Softmax, Sigmoid,
 * Transpose and Reshape, the custom gradients of ops.ts), gradients of a tensor used several times
 * summed in the tape's order (reverse creation order), and nothing computed that tfjs prunes (the
 * lowest block's LayerNorm, which no LoRA weight feeds). So its gradients, the updated LoRA and the
 * Adam state are bit-identical to `encoderBackward`'s (test/models.cache.test.ts), and the features
 * to `encoderForward`'s. Keep the two in step if encoderApply or the ops change.
 *
 * Cost: the cache of the default model (d 128, 2 blocks, FFN 256, LoRA on query and value) at batch
 * 16 is 2.7 MB, against 0.14 MB for the activations it replaces; extracting it makes the forward pass
 * about 10-20% slower, and the backward pass is about half of encoderBackward's.
 */
import * as tf from '@tensorflow/tfjs';
import { loraShapes, sizeOf, type LoraTarget, type ResolvedModelConfig } from './config';
import type { Foundation } from './foundation';
import { frozenDense, loraDense } from './ops';
import { adamUpdate, type OptimizerState } from './optimizer';
import { checkCut, ShapeError, tensors, tidyData, type Cut, type LoraWeights } from './split';
import { mergeHeads, splitHeads } from './transformer';

type T2 = tf.Tensor2D;
type T3 = tf.Tensor3D;

/**
 * What the hand-written backward pass needs from one forward pass, as plain data
 * (structured-clone safe). `values` by name `block<i>/<what>`:
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
  values: Record<string, Cut>;
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

const toCut = (t: tf.Tensor): Cut => ({ data: new Float32Array(t.dataSync()), shape: t.shape.slice() });
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

/** ops.ts's loraDense gradient: dA, dB and (when `needDx`) dx. */
function loraDenseBackward(dy: T2, x: T2, wT: T2, a: T2, bb: T2, scale: number, needDx: boolean): { dA: tf.Tensor; dB: tf.Tensor; dx: tf.Tensor | null } {
  const u = tf.matMul(x, a);
  const dB = tf.mul(tf.matMul(t2(u), dy), scale);
  const du = tf.mul(tf.matMul(dy, t2(bb)), scale) as T2;
  const dA = tf.matMul(t2(x), du);
  const dx = needDx ? tf.add(tf.matMul(dy, wT), tf.matMul(du, t2(a))) : null;
  return { dA, dB, dx };
}

/** Server: the encoder with one device's LoRA copy → features [b, L, d] (bit-identical to encoderForward) and the cache for encoderBackwardCached. */
export function encoderForwardCached(foundation: Foundation, lora: LoraWeights, activations: Cut): { features: Cut; cache: EncoderCache } {
  const b = checkCut(foundation, activations, 'encoderForwardCached activations');
  const c = foundation.config;
  return tidyData(() => {
    const w = foundation.weights;
    const l = tensors(lora, loraShapes(c), 'lora');
    const scale = c.loraAlpha / c.loraRank;
    const invSqrt = 1 / Math.sqrt(c.dModel / c.heads);
    const keep: Record<string, tf.Tensor> = {};
    const project = (name: string, x: T2): T2 => {
      const kernel = weight(w, `${name}/kernel`) as T2;
      const bias = weight(w, `${name}/bias`) as tf.Tensor1D;
      const wT = weight(foundation.transposed, `${name}/kernel`) as T2;
      const a = l[`${name}/A`] as T2 | undefined;
      const bb = l[`${name}/B`] as T2 | undefined;
      return a && bb ? loraDense(x, kernel, wT, bias, a, bb, scale) : frozenDense(x, kernel, wT, bias);
    };
    let x = tf.reshape(tf.tensor3d(activations.data, activations.shape as [number, number, number]), [b * c.tokens, c.dModel]) as T2;
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
    const values: Record<string, Cut> = {};
    for (const [name, t] of Object.entries(keep)) values[name] = toCut(t);
    return { features: toCut(tf.reshape(x, [b, c.tokens, c.dModel])), cache: { batchSize: b, values } };
  });
}

/** Server: gradients of the device's loss with respect to its LoRA copy, from the forward pass's cache (bit-identical to encoderGradients). */
export function encoderGradientsCached(foundation: Foundation, lora: LoraWeights, cache: EncoderCache, featureGrad: Cut): LoraWeights {
  const c = foundation.config;
  const g = checkCut(foundation, featureGrad, 'encoderBackwardCached featureGrad');
  const b = cache.batchSize;
  if (g !== b) throw new ShapeError(`encoderBackwardCached: a cache of ${b} rows but ${g} gradient rows`);
  const n = b * c.tokens;
  const d = c.dModel;
  const bh = b * c.heads;
  const dh = d / c.heads;
  const scale = c.loraAlpha / c.loraRank;
  const invSqrt = 1 / Math.sqrt(d / c.heads);
  return tidyData(() => {
    const w = foundation.weights;
    const wT = (name: string): T2 => weight(foundation.transposed, `${name}/kernel`) as T2;
    const l = tensors(lora, loraShapes(c), 'lora');
    const cached = (name: string, shape: number[]): tf.Tensor => {
      const v = cache.values[name];
      if (!v || v.data.length !== sizeOf(shape) || v.shape.join() !== shape.join()) throw new ShapeError(`encoderBackwardCached: cache entry '${name}' missing or not of shape [${shape.join(', ')}]`);
      return tf.tensor(v.data, shape, 'float32');
    };
    const out: Record<string, tf.Tensor> = {};
    // Reshape [b, L, d] → [n, d]: its gradient is the reshaped cut gradient.
    let dx = tf.reshape(tf.tensor3d(featureGrad.data, featureGrad.shape as [number, number, number]), [n, d]);
    for (let i = c.blocks - 1; i >= 0; i--) {
      const pre = `block${i}`;
      const plan = blockPlan(c, i);
      // x3 = x2 + ffn2(gelu(ffn1(LN2(x2)))): both inputs of the add receive dx.
      const f1 = cached(`${pre}/ffn1`, [n, c.ffnDim]);
      const sig = cached(`${pre}/sigmoid`, [n, c.ffnDim]);
      const dGelu = tf.matMul(dx as T2, wT(`${pre}/ffn2`));
      let dF1 = tf.mul(dGelu, sig); // Mul(f1, σ), a
      const dSig = tf.mul(dGelu, f1); // Mul(f1, σ), b
      const dZ = tf.mul(dSig, tf.mul(sig, tf.sub(tf.scalar(1), sig))); // Sigmoid
      dF1 = tf.add(dF1, tf.mul(dZ, 1.702)); // Mul(f1, 1.702), a
      const dH2 = tf.matMul(dF1 as T2, wT(`${pre}/ffn1`));
      const dX2 = layerNormBackward(dH2, weight(w, `${pre}/ln2/gamma`), cached(`${pre}/ln2/centered`, [n, d]), cached(`${pre}/ln2/varEps`, [n, 1]), cached(`${pre}/ln2/rstd`, [n, 1]), dx);
      // x2 = x + output(merge(attention)): both inputs receive dX2.
      let dMerged: tf.Tensor;
      if (plan.lora.output) {
        const r = loraDenseBackward(dX2 as T2, cached(`${pre}/merged`, [n, d]) as T2, wT(`${pre}/output`), l[`${pre}/output/A`] as T2, l[`${pre}/output/B`] as T2, scale, true);
        out[`${pre}/output/A`] = r.dA;
        out[`${pre}/output/B`] = r.dB;
        dMerged = r.dx as tf.Tensor;
      } else dMerged = tf.matMul(dX2 as T2, wT(`${pre}/output`));
      const dCtx = splitHeads(c, dMerged as T2, b); // mergeHeads' gradient
      // ctx = probs·v; probs = softmax(s·invSqrt); s = q·kᵀ (bmm gradients: plain products against transposed copies).
      const dQKV: Partial<Record<'query' | 'key' | 'value', tf.Tensor>> = {};
      if (plan.needV) dQKV.value = tf.matMul(bt(cached(`${pre}/probs`, [bh, c.tokens, c.tokens])), dCtx);
      if (plan.needQ || plan.needK) {
        const probs = cached(`${pre}/probs`, [bh, c.tokens, c.tokens]);
        const dProbs = tf.matMul(dCtx, bt(cached(`${pre}/v`, [bh, c.tokens, dh])));
        const dyTimesY = tf.mul(dProbs, probs); // Softmax
        const dLogits = tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [2], true), probs));
        const dS = tf.mul(dLogits, invSqrt) as T3;
        if (plan.needQ) dQKV.query = tf.matMul(dS, cached(`${pre}/k`, [bh, c.tokens, dh]) as T3);
        if (plan.needK) dQKV.key = tf.transpose(tf.matMul(bt(cached(`${pre}/q`, [bh, c.tokens, dh])), dS), [0, 2, 1]);
      }
      // The projections of LN1's output, in the tape's reverse order: value, key, query.
      const h1 = plan.lora.query || plan.lora.key || plan.lora.value ? (cached(`${pre}/h1`, [n, d]) as T2) : null;
      let dH1: tf.Tensor | null = null;
      for (const t of ['value', 'key', 'query'] as const) {
        const dt = dQKV[t];
        if (!dt) continue;
        const dProj = mergeHeads(c, dt as T3, b); // splitHeads' gradient
        let dIn: tf.Tensor | null = null;
        if (plan.lora[t]) {
          const r = loraDenseBackward(dProj, h1 as T2, wT(`${pre}/${t}`), l[`${pre}/${t}/A`] as T2, l[`${pre}/${t}/B`] as T2, scale, plan.needX);
          out[`${pre}/${t}/A`] = r.dA;
          out[`${pre}/${t}/B`] = r.dB;
          dIn = r.dx;
        } else if (plan.needX) dIn = tf.matMul(dProj, wT(`${pre}/${t}`));
        if (dIn) dH1 = dH1 ? tf.add(dH1, dIn) : dIn;
      }
      if (!plan.needX) break;
      dx = layerNormBackward(dH1 as tf.Tensor, weight(w, `${pre}/ln1/gamma`), cached(`${pre}/ln1/centered`, [n, d]), cached(`${pre}/ln1/varEps`, [n, 1]), cached(`${pre}/ln1/rstd`, [n, 1]), dX2);
    }
    const grads: LoraWeights = {};
    for (const name of Object.keys(l)) {
      const t = out[name];
      if (!t) throw new Error(`internal: no gradient for '${name}'`);
      grads[name] = new Float32Array(t.dataSync());
    }
    return grads;
  });
}

/** Server: back-propagates the device's cut gradient into its LoRA copy from the forward pass's cache and applies one Adam step (bit-identical to encoderBackward). */
export function encoderBackwardCached(foundation: Foundation, lora: LoraWeights, loraOpt: OptimizerState, cache: EncoderCache, featureGrad: Cut, lr: number): { lora: LoraWeights; loraOpt: OptimizerState } {
  const g = encoderGradientsCached(foundation, lora, cache, featureGrad);
  const u = adamUpdate(lora, g, loraOpt, lr);
  return { lora: u.weights, loraOpt: u.state };
}
