/**
 * The server's backward pass into the devices' LoRA adapters, written out by hand from the
 * intermediates the forward pass recorded (transformer.ts's encoderApply with a record of
 * `cacheNames`) instead of running the forward pass again inside tf.grads. It performs, op for op
 * and in the same order, what tfjs's tape does for encoderApply's 'fast' mode: the same kernels on
 * the same inputs (tfjs's registered gradients of Mean, Sub, Mul, Rsqrt, Softmax, Sigmoid,
 * Transpose and Reshape, the custom gradients of ops.ts), gradients of a tensor used several times
 * summed in the tape's order (reverse creation order), and nothing computed that tfjs prunes (the
 * lowest block's LayerNorm, which no LoRA weight feeds). So its gradients are bit-identical to the
 * tape's (test/models.cache.test.ts). Keep it in step with encoderApply if the ops change.
 *
 * Several devices stacked by rows (multi-adapter batching) run as one pass: the frozen products on
 * all rows, each device's adapter gradients from its own rows (2-D products on row slices: wasm's
 * batched 3-D matMul is 3-8x slower than the same 2-D products, bench/results/models.txt). One
 * device alone takes the single-device ops of ops.ts's loraDense gradient.
 *
 * Cost: the intermediates of the default model (d 128, 2 blocks, FFN 256, LoRA on query and value)
 * at batch 16 are 2.7 MB, against 0.14 MB for the activations; the backward pass from them is about
 * half of one that runs the forward pass again.
 */
import * as tf from '@tensorflow/tfjs';
import { checkGradientItems, deviceLabel, type GradientItem } from './compute';
import { loraShapes, type LoraTarget, type ResolvedModelConfig } from './config';
import type { Foundation } from './foundation';
import type { KeptTensors } from './keptCache';
import type { LoraWeights } from './split';
import { ownedValues, ShapeError, stackCuts, tensors, tidyData } from './tensors';
import { encoderApply, mergeHeads, splitHeads, type StackedDevices } from './transformer';

type T2 = tf.Tensor2D;
type T3 = tf.Tensor3D;

type Devices = StackedDevices;

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

/**
 * Names of the intermediates the backward pass reads (encoderApply records them), `block<i>/<what>`:
 * - `ln1/centered` [n, d], `ln1/varEps` [n, 1], `ln1/rstd` [n, 1] (blocks above the lowest only),
 *   and the same for `ln2/...` (every block): LayerNorm's x − mean, variance + ε and its rsqrt;
 * - `h1` [n, d]: the attention's input (when query, key or value has an adapter);
 * - `q`, `k`, `v` [b·h, L, dh] and `probs` [b·h, L, L]: as far as the backward pass needs them;
 * - `merged` [n, d]: the output projection's input (when it has an adapter);
 * - `ffn1` [n, ffn] and `sigmoid` [n, ffn]: the GELU's input and its sigmoid.
 * where n = b·L.
 */
export function cacheNames(c: ResolvedModelConfig): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i < c.blocks; i++) {
    const pre = `block${i}`;
    const plan = blockPlan(c, i);
    const add = (...what: string[]): void => what.forEach((w) => names.add(`${pre}/${w}`));
    if (plan.needX) add('ln1/centered', 'ln1/varEps', 'ln1/rstd');
    if (plan.lora.query || plan.lora.key || plan.lora.value) add('h1');
    if (plan.needK) add('q');
    if (plan.needQ) add('k');
    if (plan.needQ || plan.needK) add('v');
    if (plan.needQ || plan.needK || plan.needV) add('probs');
    if (plan.lora.output) add('merged');
    add('ln2/centered', 'ln2/varEps', 'ln2/rstd', 'ffn1', 'sigmoid');
  }
  return names;
}

/**
 * The server's forward pass ('fast' mode) over the stacked activations [Σ b_k, L, d] of `devices`
 * → the features, and with `record` the intermediates of cacheNames (callers own tf.tidy).
 */
export function serverForward(
  foundation: Foundation,
  devices: Devices,
  activations: tf.Tensor3D,
  batchSize: number,
  record?: Record<string, tf.Tensor>,
): tf.Tensor3D {
  const c = foundation.config;
  const p = { weights: foundation.weights, transposed: foundation.transposed, devices, mode: 'fast' as const };
  return encoderApply(c, p, activations, batchSize, record ? { names: cacheNames(c), into: record } : undefined);
}

/** The devices' LoRA copies as tensors, with their rows (b_k·L) in the stack (callers own tf.tidy). */
export function stackedDevices(foundation: Foundation, loras: readonly LoraWeights[], samples: readonly number[]): Devices {
  const c = foundation.config;
  return {
    loras: loras.map((l, k) => tensors(l, loraShapes(c), loras.length === 1 ? 'lora' : `lora of device ${k}`)),
    rows: samples.map((s) => s * c.tokens),
  };
}

/**
 * Each device's intermediates as tensors: taken from this thread's store, or (a key it does not
 * hold, or none) recorded by running its forward pass again, alone. Taken entries go to `taken`,
 * to be freed by the caller.
 */
function cacheTensors(
  foundation: Foundation,
  items: readonly GradientItem[],
  devices: Devices,
  store: KeptTensors | undefined,
  taken: Array<Record<string, tf.Tensor>>,
): Array<Record<string, tf.Tensor>> {
  return items.map((it, k) => {
    const { key, activations, batchSize } = it.cache;
    const kept = key !== undefined ? store?.take(key) : undefined;
    if (kept) {
      taken.push(kept);
      return kept;
    }
    const one: Devices = { loras: [devices.loras[k] as Readonly<Record<string, tf.Tensor>>], rows: [batchSize * foundation.config.tokens] };
    const record: Record<string, tf.Tensor> = {};
    serverForward(foundation, one, tf.tensor3d(activations.data, activations.shape as [number, number, number]), batchSize, record);
    return record;
  });
}

const t2 = (x: tf.Tensor): T2 => tf.transpose(x as T2) as T2;
const bt = (x: tf.Tensor): T3 => tf.transpose(x as T3, [0, 2, 1]) as T3;

function weight(map: Readonly<Record<string, tf.Tensor>>, name: string): tf.Tensor {
  const t = map[name];
  if (!t) throw new Error(`internal: tensor '${name}' missing`);
  return t;
}

/**
 * LayerNorm's backward pass as tfjs's tape runs it (Add, Mul, Mul, Rsqrt, Add, Mean, Mul(c, c),
 * Sub, Mean, in reverse): returns `acc` + ∂/∂x, summed in the tape's order ((acc + from Sub) +
 * from Mean), `acc` being the gradient x already received from the residual add.
 */
function layerNormBackward(
  dy: tf.Tensor,
  gamma: tf.Tensor,
  centered: tf.Tensor,
  varEps: tf.Tensor,
  rstd: tf.Tensor,
  acc: tf.Tensor,
): tf.Tensor {
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
function loraDenseBackward(
  dy: T2,
  x: T2,
  wT: T2,
  a: T2,
  bb: T2,
  scale: number,
  needDx: boolean,
): { dA: tf.Tensor; dB: tf.Tensor; dx: tf.Tensor | null } {
  const { dA, dB, du } = adapterGrads(dy, x, a, bb, scale);
  const dx = needDx ? tf.add(tf.matMul(dy, wT), tf.matMul(du, t2(a))) : null;
  return { dA, dB, dx };
}

/** Device k's adapter (A, B) on projection `name`. */
function adapterOf(devices: Devices, k: number, name: string): [T2, T2] {
  const lora = devices.loras[k] as Readonly<Record<string, tf.Tensor>>;
  return [lora[`${name}/A`] as T2, lora[`${name}/B`] as T2];
}

/** loraDenseBackward for every device on its row slice: dA_k, dB_k, and dx = dy·Wᵀ + [du_k·A_kᵀ] over all rows. */
function projectManyBackward(
  devices: Devices,
  name: string,
  dy: T2,
  x: T2,
  wT: T2,
  scale: number,
  needDx: boolean,
): { dA: tf.Tensor[]; dB: tf.Tensor[]; dx: tf.Tensor | null } {
  if (devices.loras.length === 1) {
    const r = loraDenseBackward(dy, x, wT, ...adapterOf(devices, 0, name), scale, needDx);
    return { dA: [r.dA], dB: [r.dB], dx: r.dx };
  }
  const dys = tf.split(dy, devices.rows as number[], 0) as T2[];
  const xs = tf.split(x, devices.rows as number[], 0) as T2[];
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

/** The devices' caches stacked by samples, entry by entry: (name, shape of b samples) → tensor; checks each device's entry. */
function stackCaches(
  items: readonly GradientItem[],
  perDevice: ReadonlyArray<Record<string, tf.Tensor>>,
  what: string,
): (name: string, shapeOf: (b: number) => number[]) => tf.Tensor {
  return (name, shapeOf) => {
    const parts = items.map((it, k) => {
      const v = (perDevice[k] as Record<string, tf.Tensor>)[name];
      const shape = shapeOf(it.cache.batchSize);
      if (!v || v.shape.join() !== shape.join())
        throw new ShapeError(`${what}: ${deviceLabel(k, items.length)}cache entry '${name}' missing or not of shape [${shape.join(', ')}]`);
      return v;
    });
    return parts.length === 1 ? (parts[0] as tf.Tensor) : tf.concat(parts, 0);
  };
}

/**
 * Each device's gradients with respect to its LoRA copy, from one backward pass over the stacked
 * intermediates (from `store`, or recorded again) and cut gradients of several devices.
 */
export function encoderGradients(foundation: Foundation, items: readonly GradientItem[], store?: KeptTensors): LoraWeights[] {
  const what = 'encoderBackward';
  const c = foundation.config;
  const samples = checkGradientItems(foundation, items, what);
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
      const devices = stackedDevices(
        foundation,
        items.map((it) => it.lora),
        samples,
      );
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
        const dX2 = layerNormBackward(
          dH2,
          weight(w, `${pre}/ln2/gamma`),
          stacked(`${pre}/ln2/centered`, rowsBy(d)),
          stacked(`${pre}/ln2/varEps`, rowsBy(1)),
          stacked(`${pre}/ln2/rstd`, rowsBy(1)),
          dx,
        );
        // x2 = x + output(merge(attention)): both inputs receive dX2.
        let dMerged: tf.Tensor;
        if (plan.lora.output) {
          const r = projectManyBackward(
            devices,
            `${pre}/output`,
            dX2 as T2,
            stacked(`${pre}/merged`, rowsBy(d)) as T2,
            wT(`${pre}/output`),
            scale,
            true,
          );
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
        dx = layerNormBackward(
          dH1 as tf.Tensor,
          weight(w, `${pre}/ln1/gamma`),
          stacked(`${pre}/ln1/centered`, rowsBy(d)),
          stacked(`${pre}/ln1/varEps`, rowsBy(1)),
          stacked(`${pre}/ln1/rstd`, rowsBy(1)),
          dX2,
        );
      }
      return out.map((grads, k) => {
        const lora: LoraWeights = {};
        for (const name of Object.keys(devices.loras[k] as Readonly<Record<string, tf.Tensor>>)) {
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
