/**
 * Multi-adapter batched encoder (issue 7; MODEL.md §1–§2 step 4, the edge server's work): the
 * activations of several admitted devices are stacked into one batch, the frozen encoder weights
 * W0 are applied to all rows in one product per projection, and each device's own LoRA adapter
 * (A_k, B_k) is applied to its own rows only, as multi-LoRA serving systems do (S-LoRA, Sheng et
 * al. 2023; Punica, Chen et al. 2023). Attention, LayerNorm and the FFN act per sample, so the
 * result equals running every device alone (test/models.batched.test.ts).
 *
 *   y = x·W + b + s·[(x_1·A_1)·B_1; …; (x_D·A_D)·B_D]      x = [x_1; …; x_D] by rows
 *
 * When every device sends the same number of samples (the simulator's case: batch size b), the
 * adapters are stacked into [D, d, r] and [D, r, d] and applied with one batched product;
 * otherwise per device on row slices. Gradients are hand-written with plain products only
 * (STACK.md: wasm's transposed matMul is slow), as in ops.ts. Like split.ts, the functions take
 * and return plain typed arrays and leave no tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import { loraShapes, sizeOf } from './config';
import type { Foundation } from './foundation';
import { frozenDense } from './ops';
import { adamUpdate, type OptimizerState } from './optimizer';
import { ShapeError, tidyData, type Cut, type LoraWeights } from './split';
import { encoderApply } from './transformer';

type T2 = tf.Tensor2D;
type T3 = tf.Tensor3D;
type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];

/** One device's share of a batched forward pass. */
export interface BatchedForwardItem {
  readonly lora: LoraWeights;
  readonly activations: Cut;
}

/** One device's share of a batched backward pass. */
export interface BatchedGradientItem extends BatchedForwardItem {
  readonly featureGrad: Cut;
}

/** One device's share of a batched backward pass with its Adam step. */
export interface BatchedBackwardItem extends BatchedGradientItem {
  readonly loraOpt: OptimizerState;
  readonly lr: number;
}

function custom(fn: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFunc }): (...args: tf.Tensor[]) => tf.Tensor {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return fn(args.slice(0, -1) as tf.Tensor[], save);
  }) as Parameters<typeof tf.customGrad>[0]);
  return f as (...args: tf.Tensor[]) => tf.Tensor;
}

const bt = (x: tf.Tensor): T3 => tf.transpose(x as T3, [0, 2, 1]) as T3;
const t2 = (x: tf.Tensor): T2 => tf.transpose(x as T2) as T2;

/**
 * y = x·W + b + s·(x_k·A_k)·B_k on the rows of device k. `rows[k]` rows per device, in order;
 * A [D, dIn, r], B [D, r, dOut]. Differentiable in x, A and B. Per device (as ops.ts, loraDense):
 * u = x_k·A_k; dB_k = s·u_kᵀ·dy_k; du_k = s·dy_k·B_kᵀ; dA_k = x_kᵀ·du_k; dx = dy·Wᵀ + du·Aᵀ.
 */
export function multiLoraDense(x: T2, w: T2, wT: T2, b: tf.Tensor1D, a: T3, bb: T3, scale: number, rows: readonly number[]): T2 {
  const D = rows.length;
  const uniform = rows.every((m) => m === rows[0]);
  const m0 = rows[0] as number;
  const dIn = x.shape[1];
  const dOut = w.shape[1];
  const offsets: number[] = [];
  rows.reduce((o, m) => (offsets.push(o), o + m), 0);
  const seg = (t: T2, k: number): T2 => tf.slice(t, [offsets[k] as number, 0], [rows[k] as number, t.shape[1]]) as T2;
  const slice3 = (t: T3, k: number): T2 => tf.reshape(tf.slice(t, [k, 0, 0], [1, t.shape[1], t.shape[2]]), [t.shape[1], t.shape[2]]) as T2;

  const f = custom(([xi, ai, bi], save) => {
    save([xi as T2, ai as T3, bi as T3]);
    const frozen = tf.fused.matMul({ a: xi as T2, b: w, bias: b });
    const bs = tf.mul(bi as T3, scale) as T3;
    let delta: T2;
    if (uniform) {
      const x3 = tf.reshape(xi as T2, [D, m0, dIn]) as T3;
      delta = tf.reshape(tf.matMul(tf.matMul(x3, ai as T3), bs), [D * m0, dOut]) as T2;
    } else {
      delta = tf.concat(rows.map((_, k) => tf.matMul(tf.matMul(seg(xi as T2, k), slice3(ai as T3, k)), slice3(bs, k))), 0) as T2;
    }
    const value = tf.add(frozen, delta) as T2;
    const gradFunc: GradFunc = (dyIn, saved) => {
      const [xx, aa, bm] = saved as [T2, T3, T3];
      const dy = dyIn as T2;
      const frozenDx = tf.matMul(dy, wT);
      if (uniform) {
        const x3 = tf.reshape(xx, [D, m0, dIn]) as T3;
        const dy3 = tf.reshape(dy, [D, m0, dOut]) as T3;
        const u = tf.matMul(x3, aa);
        const dB = tf.mul(tf.matMul(bt(u), dy3), scale);
        const du = tf.mul(tf.matMul(dy3, bt(bm)), scale) as T3;
        const dA = tf.matMul(bt(x3), du);
        const dx = tf.add(frozenDx, tf.reshape(tf.matMul(du, bt(aa)), [D * m0, dIn]));
        return [dx, dA, dB];
      }
      const dAs: tf.Tensor[] = [];
      const dBs: tf.Tensor[] = [];
      const dxs: tf.Tensor[] = [];
      for (let k = 0; k < D; k++) {
        const xk = seg(xx, k);
        const dyk = seg(dy, k);
        const ak = slice3(aa, k);
        const u = tf.matMul(xk, ak);
        dBs.push(tf.mul(tf.matMul(t2(u), dyk), scale));
        const du = tf.mul(tf.matMul(dyk, t2(slice3(bm, k))), scale) as T2;
        dAs.push(tf.matMul(t2(xk), du));
        dxs.push(tf.matMul(du, t2(ak)));
      }
      return [tf.add(frozenDx, tf.concat(dxs, 0)), tf.stack(dAs), tf.stack(dBs)];
    };
    return { value, gradFunc };
  });
  return f(x, a, bb) as T2;
}

/** Checks the items and returns the samples of each device. */
function checkItems(f: Foundation, items: readonly BatchedForwardItem[], what: string, withGrad: boolean): number[] {
  if (items.length === 0) throw new ShapeError(`${what}: no devices`);
  const c = f.config;
  const shapes = loraShapes(c);
  return items.map((it, k) => {
    const cuts: Array<[Cut, string]> = [[it.activations, 'activations']];
    if (withGrad) cuts.push([(it as BatchedGradientItem).featureGrad, 'featureGrad']);
    let samples = 0;
    for (const [cut, name] of cuts) {
      const [b, l, d] = cut.shape;
      if (cut.shape.length !== 3 || l !== c.tokens || d !== c.dModel || !b || cut.data.length !== b * l * d)
        throw new ShapeError(`${what}: device ${k} ${name}: expected shape [b, ${c.tokens}, ${c.dModel}] with b·${c.tokens}·${c.dModel} values, got [${cut.shape.join(', ')}] with ${cut.data.length}`);
      if (samples && b !== samples) throw new ShapeError(`${what}: device ${k}: ${samples} activation rows but ${b} gradient rows`);
      samples = b;
    }
    for (const [name, shape] of Object.entries(shapes)) {
      const v = it.lora[name];
      if (!v || v.length !== sizeOf(shape)) throw new ShapeError(`${what}: device ${k} lora '${name}' missing or not of shape [${shape.join(', ')}]`);
    }
    return samples;
  });
}

/** Stacks the devices' cuts along the sample axis: [Σ b_k, L, d]. */
function stackCuts(cuts: readonly Cut[], tokens: number, d: number): T3 {
  const total = cuts.reduce((n, c) => n + (c.shape[0] as number), 0);
  const data = new Float32Array(total * tokens * d);
  let o = 0;
  for (const c of cuts) {
    data.set(c.data, o);
    o += c.data.length;
  }
  return tf.tensor3d(data, [total, tokens, d]);
}

/** Stacks each adapter over the devices: name → [D, ...shape]. */
function stackLora(f: Foundation, loras: readonly LoraWeights[]): Record<string, T3> {
  const out: Record<string, T3> = {};
  for (const [name, shape] of Object.entries(loraShapes(f.config))) {
    const n = sizeOf(shape);
    const data = new Float32Array(loras.length * n);
    loras.forEach((l, k) => data.set(l[name] as Float32Array, k * n));
    out[name] = tf.tensor3d(data, [loras.length, shape[0] as number, shape[1] as number]);
  }
  return out;
}

/** The projection hook of the batched encoder: LoRA targets through multiLoraDense, the rest frozen. */
function batchedProject(f: Foundation, stacked: Readonly<Record<string, tf.Tensor>>, rows: readonly number[]): (name: string, x: T2) => T2 {
  const scale = f.config.loraAlpha / f.config.loraRank;
  return (name, x) => {
    const w = f.weights[`${name}/kernel`] as T2;
    const wT = f.transposed[`${name}/kernel`] as T2;
    const b = f.weights[`${name}/bias`] as tf.Tensor1D;
    const a = stacked[`${name}/A`] as T3 | undefined;
    const bb = stacked[`${name}/B`] as T3 | undefined;
    if (!w || !wT || !b) throw new Error(`internal: frozen weights of '${name}' missing`);
    return a && bb ? multiLoraDense(x, w, wT, b, a, bb, scale, rows) : frozenDense(x, w, wT, b);
  };
}

/** Splits a [Σ rows, ...] array into one Cut per device. */
function splitCut(data: Float32Array, samples: readonly number[], tokens: number, d: number): Cut[] {
  const out: Cut[] = [];
  let o = 0;
  for (const b of samples) {
    const n = b * tokens * d;
    out.push({ data: data.slice(o, o + n), shape: [b, tokens, d] });
    o += n;
  }
  return out;
}

/**
 * Server: the encoder run once on the stacked activations of several devices, each with its own
 * LoRA copy → each device's features. Equals `encoderForward` per device.
 */
export function batchedEncoderForward(foundation: Foundation, items: readonly BatchedForwardItem[]): Cut[] {
  const samples = checkItems(foundation, items, 'batchedEncoderForward', false);
  const c = foundation.config;
  const rows = samples.map((b) => b * c.tokens);
  const total = samples.reduce((a, b) => a + b, 0);
  return tidyData(() => {
    const x = stackCuts(items.map((i) => i.activations), c.tokens, c.dModel);
    const stacked = stackLora(foundation, items.map((i) => i.lora));
    const y = encoderApply(c, { weights: foundation.weights, transposed: foundation.transposed, mode: 'fast', project: batchedProject(foundation, stacked, rows) }, x, total);
    return splitCut(y.dataSync() as Float32Array, samples, c.tokens, c.dModel);
  });
}

/**
 * Server: the gradients of each device's loss with respect to its own LoRA copy, from one
 * backward pass over the stacked batch (the forward pass is recomputed, as in split.ts). Device
 * k's loss depends on its rows only, so the gradient of Σ_k loss_k with respect to A_k is
 * device k's own gradient. Equals `encoderGradients` per device.
 */
export function batchedEncoderGradients(foundation: Foundation, items: readonly BatchedGradientItem[]): LoraWeights[] {
  const samples = checkItems(foundation, items, 'batchedEncoderGradients', true);
  const c = foundation.config;
  const rows = samples.map((b) => b * c.tokens);
  const total = samples.reduce((a, b) => a + b, 0);
  const shapes = loraShapes(c);
  return tidyData(() => {
    const x = stackCuts(items.map((i) => i.activations), c.tokens, c.dModel);
    const dy = stackCuts(items.map((i) => i.featureGrad), c.tokens, c.dModel);
    const stacked = stackLora(foundation, items.map((i) => i.lora));
    const names = Object.keys(stacked);
    const grads = tf.grads((...args: tf.Tensor[]) => {
      const lp: Record<string, tf.Tensor> = {};
      names.forEach((n, i) => (lp[n] = args[i] as tf.Tensor));
      return encoderApply(c, { weights: foundation.weights, transposed: foundation.transposed, mode: 'fast', project: batchedProject(foundation, lp, rows) }, x, total);
    })(names.map((n) => stacked[n] as tf.Tensor), dy);
    const out: LoraWeights[] = items.map(() => ({}));
    names.forEach((n, i) => {
      const all = (grads[i] as tf.Tensor).dataSync() as Float32Array;
      const size = sizeOf(shapes[n] as number[]);
      out.forEach((o, k) => (o[n] = all.slice(k * size, (k + 1) * size)));
    });
    return out;
  });
}

/** Server: `encoderBackward` for several devices at once (one batched backward pass, then each device's Adam step). */
export function batchedEncoderBackward(foundation: Foundation, items: readonly BatchedBackwardItem[]): Array<{ lora: LoraWeights; loraOpt: OptimizerState }> {
  const grads = batchedEncoderGradients(foundation, items);
  return items.map((it, k) => {
    const u = adamUpdate(it.lora, grads[k] as LoraWeights, it.loraOpt, it.lr);
    return { lora: u.weights, loraOpt: u.state };
  });
}
