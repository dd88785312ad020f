/**
 * The foundation model's forward passes (MODEL.md §1): a ViT-style embedding (patches → dense,
 * CLS token, learned positions; for a token task, a token table instead of the dense), an
 * encoder of pre-LN transformer blocks (Vaswani et al. 2017; pre-LN as in Xiong et al. 2020)
 * with LoRA adapters (Hu et al. 2021) on chosen projections, and a task module (mean pool over
 * tokens, LayerNorm, dense). Pure functions of tensors; callers own tf.tidy.
 *
 * Three ways to run the encoder:
 * - 'reference': plain tfjs ops and tfjs's own gradients (the unsplit reference, and the
 *   "as written" baseline of the benchmark);
 * - 'fast': hand-written gradients against pre-transposed frozen weights (ops.ts);
 * - 'trainable': every weight differentiable (pre-training), hand-written gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { LORA_TARGETS, type ResolvedModelConfig } from './config';
import { bmm, frozenDense, geluParts, layerNorm, layerNormParts, loraDense, tokenLookup, trainableDense } from './ops';

type T2 = tf.Tensor2D;
type T3 = tf.Tensor3D;

export type EncoderMode = 'reference' | 'fast' | 'trainable';

export interface EncoderParams {
  /** Every weight of the embedding and encoder, by checkpoint name. */
  readonly weights: Readonly<Record<string, tf.Tensor>>;
  /** Transposed copies of the encoder's 2-D kernels ('fast' mode). */
  readonly transposed?: Readonly<Record<string, tf.Tensor>>;
  /** LoRA adapters by name (`block0/query/A`, ...); absent or partial means no adapter there. */
  readonly lora?: Readonly<Record<string, tf.Tensor>>;
  /**
   * Instead of `lora`, several devices' activations stacked by rows ('fast' mode): device k's
   * adapters act on its `rows[k]` rows only, the frozen weights on all rows at once (multi-adapter
   * batching). With more than one device, no gradient is taken through the stacked products.
   */
  readonly devices?: StackedDevices;
  readonly mode: EncoderMode;
}

/** Devices stacked by rows: each one's LoRA adapters and its number of rows (b_k·L). */
export interface StackedDevices {
  readonly loras: ReadonlyArray<Readonly<Record<string, tf.Tensor>>>;
  readonly rows: readonly number[];
}

/**
 * Where encoderApply leaves the intermediates a hand-written backward pass needs (names
 * `block<i>/<what>`, the set chosen by its caller: encoderBackward.ts, cacheNames).
 */
export interface EncoderRecord {
  readonly names: ReadonlySet<string>;
  readonly into: Record<string, tf.Tensor>;
}

function get(map: Readonly<Record<string, tf.Tensor>> | undefined, name: string): tf.Tensor {
  const t = map?.[name];
  if (!t) throw new Error(`internal: tensor '${name}' missing`);
  return t;
}

/** Cuts row-major 28x28 images into 7x7 patches (row-major patch order): [b·P, patchSize]. Plain JS. */
export function patchify(c: ResolvedModelConfig, features: Float32Array, batchSize: number): Float32Array {
  if (c.task.kind !== 'patches') throw new Error(`internal: patchify on task '${c.task.name}'`);
  const side = c.task.imageSide;
  const ps = c.task.patchSide;
  const per = side / ps;
  const out = new Float32Array(batchSize * c.patches * c.patchSize);
  let o = 0;
  for (let s = 0; s < batchSize; s++) {
    const base = s * c.inputSize;
    for (let pr = 0; pr < per; pr++)
      for (let pc = 0; pc < per; pc++)
        for (let r = 0; r < ps; r++) {
          const row = base + (pr * ps + r) * side + pc * ps;
          for (let q = 0; q < ps; q++) out[o++] = features[row + q] as number;
        }
  }
  return out;
}

/** Embedding module: patches [b·P, patchSize] → activations [b, L, d] (CLS first). */
export function embedForward(
  c: ResolvedModelConfig,
  w: Readonly<Record<string, tf.Tensor>>,
  patches: T2,
  batchSize: number,
  trainable = false,
): T3 {
  const kernel = get(w, 'embed/patch/kernel') as T2;
  const bias = get(w, 'embed/patch/bias') as tf.Tensor1D;
  const proj = trainable ? trainableDense(patches, kernel, bias) : tf.add(tf.matMul(patches, kernel), bias);
  return withClsAndPositions(c, w, tf.reshape(proj, [batchSize, c.patches, c.dModel]) as T3, batchSize);
}

/**
 * Embedding module of a token task: ids [b·S] (int32) → activations [b, L, d] (CLS first), rows of
 * the token table. Frozen: a gather. Trainable (pre-training): a one-hot product, whose gradient
 * is a plain product (wasm has no kernel for gather's gradient).
 */
export function embedTokens(
  c: ResolvedModelConfig,
  w: Readonly<Record<string, tf.Tensor>>,
  ids: tf.Tensor1D,
  batchSize: number,
  trainable = false,
): T3 {
  const table = get(w, 'embed/token') as T2;
  const rows = trainable ? tokenLookup(tf.cast(tf.oneHot(ids, table.shape[0]), 'float32') as T2, table) : tf.gather(table, ids);
  return withClsAndPositions(c, w, tf.reshape(rows, [batchSize, c.patches, c.dModel]) as T3, batchSize);
}

/** [b, P, d] → [b, L, d]: the CLS token first, then learned positions added. */
function withClsAndPositions(c: ResolvedModelConfig, w: Readonly<Record<string, tf.Tensor>>, tokens: T3, batchSize: number): T3 {
  const cls = tf.add(tf.zeros([batchSize, 1, c.dModel]), tf.reshape(get(w, 'embed/cls'), [1, 1, c.dModel]));
  return tf.add(tf.concat([cls, tokens], 1), tf.reshape(get(w, 'embed/position'), [1, c.tokens, c.dModel])) as T3;
}

/**
 * The embedding module on raw samples (rows of `features`: pixels, or token ids as floats) →
 * activations [b, L, d]. Token ids must be integers in [0, vocabSize) (checked by the caller).
 */
export function embedSamples(
  c: ResolvedModelConfig,
  w: Readonly<Record<string, tf.Tensor>>,
  features: Float32Array,
  batchSize: number,
  trainable = false,
): T3 {
  if (c.task.kind === 'tokens')
    return embedTokens(c, w, tf.tensor1d(Int32Array.from(features.subarray(0, batchSize * c.inputSize)), 'int32'), batchSize, trainable);
  return embedForward(c, w, tf.tensor2d(patchify(c, features, batchSize), [batchSize * c.patches, c.patchSize]), batchSize, trainable);
}

function project(c: ResolvedModelConfig, p: EncoderParams, name: string, x: T2): T2 {
  const w = get(p.weights, `${name}/kernel`) as T2;
  const b = get(p.weights, `${name}/bias`) as tf.Tensor1D;
  const devices = p.devices;
  if (devices && devices.loras.length > 1) return projectStacked(c, p, devices, name, x);
  const lora = devices ? devices.loras[0] : p.lora;
  const a = lora?.[`${name}/A`] as T2 | undefined;
  const bb = lora?.[`${name}/B`] as T2 | undefined;
  const scale = c.loraAlpha / c.loraRank;
  if (p.mode === 'trainable') {
    const y = trainableDense(x, w, b);
    return a && bb ? (tf.add(y, tf.mul(tf.matMul(tf.matMul(x, a), bb), scale)) as T2) : y;
  }
  if (p.mode === 'reference') {
    const y = tf.add(tf.matMul(x, w), b) as T2;
    return a && bb ? (tf.add(y, tf.mul(tf.matMul(tf.matMul(x, a), bb), scale)) as T2) : y;
  }
  const wT = get(p.transposed, `${name}/kernel`) as T2;
  return a && bb ? loraDense(x, w, wT, b, a, bb, scale) : frozenDense(x, w, wT, b);
}

/**
 * The projection `name` for stacked devices: x·W + b on all rows, plus s·(x_k·A_k)·B_k on device
 * k's rows when `name` carries an adapter (loraDense's ops, device by device on its row slice; 2-D
 * products, as wasm's batched 3-D matMul is several times slower).
 */
function projectStacked(c: ResolvedModelConfig, p: EncoderParams, devices: StackedDevices, name: string, x: T2): T2 {
  const kernel = get(p.weights, `${name}/kernel`) as T2;
  const bias = get(p.weights, `${name}/bias`) as tf.Tensor1D;
  if (!devices.loras[0]?.[`${name}/A`]) return frozenDense(x, kernel, get(p.transposed, `${name}/kernel`) as T2, bias);
  const scale = c.loraAlpha / c.loraRank;
  const xs = tf.split(x, devices.rows as number[], 0) as T2[];
  const delta = tf.concat(
    xs.map((xk, k) => {
      const lora = devices.loras[k];
      return tf.matMul(tf.matMul(xk, get(lora, `${name}/A`) as T2), tf.mul(get(lora, `${name}/B`), scale) as T2);
    }),
    0,
  );
  return tf.add(tf.fused.matMul({ a: x, b: kernel, bias }), delta) as T2;
}

/** [b·L, d] → [b·h, L, dh]. */
export function splitHeads(c: ResolvedModelConfig, x: T2, batchSize: number): T3 {
  const dh = c.dModel / c.heads;
  const r = tf.reshape(x, [batchSize, c.tokens, c.heads, dh]);
  return tf.reshape(tf.transpose(r, [0, 2, 1, 3]), [batchSize * c.heads, c.tokens, dh]) as T3;
}

/** [b·h, L, dh] → [b·L, d] (the inverse of splitHeads). */
export function mergeHeads(c: ResolvedModelConfig, x: T3, batchSize: number): T2 {
  const dh = c.dModel / c.heads;
  const r = tf.reshape(x, [batchSize, c.heads, c.tokens, dh]);
  return tf.reshape(tf.transpose(r, [0, 2, 1, 3]), [batchSize * c.tokens, c.dModel]) as T2;
}

/**
 * Encoder module: activations [b, L, d] → features [b, L, d] (the residual stream after L blocks),
 * the one forward pass of every caller (the server's passes, the evaluator, the unsplit reference,
 * pre-training). With `record`, the intermediates it names are left in `record.into`.
 */
export function encoderApply(c: ResolvedModelConfig, p: EncoderParams, activations: T3, batchSize: number, record?: EncoderRecord): T3 {
  const keep = (name: string, t: tf.Tensor): void => {
    if (record?.names.has(name)) record.into[name] = t;
  };
  const n = batchSize * c.tokens;
  let x = tf.reshape(activations, [n, c.dModel]) as T2;
  const invSqrt = 1 / Math.sqrt(c.dModel / c.heads);
  for (let i = 0; i < c.blocks; i++) {
    const pre = `block${i}`;
    const ln1 = layerNormParts(x, get(p.weights, `${pre}/ln1/gamma`), get(p.weights, `${pre}/ln1/beta`));
    const h1 = ln1.y as T2;
    const q = splitHeads(c, project(c, p, `${pre}/query`, h1), batchSize);
    const k = splitHeads(c, project(c, p, `${pre}/key`, h1), batchSize);
    const v = splitHeads(c, project(c, p, `${pre}/value`, h1), batchSize);
    let probs: T3;
    let ctx: T3;
    if (p.mode === 'reference') {
      probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), invSqrt)) as T3;
      ctx = tf.matMul(probs, v) as T3;
    } else {
      probs = tf.softmax(tf.mul(bmm(q, tf.transpose(k, [0, 2, 1]) as T3), invSqrt)) as T3;
      ctx = bmm(probs, v);
    }
    const merged = mergeHeads(c, ctx, batchSize);
    x = tf.add(x, project(c, p, `${pre}/output`, merged)) as T2;
    const ln2 = layerNormParts(x, get(p.weights, `${pre}/ln2/gamma`), get(p.weights, `${pre}/ln2/beta`));
    const f1 = project(c, p, `${pre}/ffn1`, ln2.y as T2);
    const g = geluParts(f1);
    x = tf.add(x, project(c, p, `${pre}/ffn2`, g.y as T2)) as T2;
    if (record) {
      for (const [what, t] of Object.entries({ centered: ln1.centered, varEps: ln1.varEps, rstd: ln1.rstd })) keep(`${pre}/ln1/${what}`, t);
      for (const [what, t] of Object.entries({ h1, q, k, v, probs, merged })) keep(`${pre}/${what}`, t);
      for (const [what, t] of Object.entries({ centered: ln2.centered, varEps: ln2.varEps, rstd: ln2.rstd })) keep(`${pre}/ln2/${what}`, t);
      keep(`${pre}/ffn1`, f1);
      keep(`${pre}/sigmoid`, g.sigmoid);
    }
  }
  return tf.reshape(x, [batchSize, c.tokens, c.dModel]) as T3;
}

/** Task module: features [b, L, d] → logits [b, classes]: mean over tokens, LayerNorm, dense. */
export function headApply(h: Readonly<Record<string, tf.Tensor>>, features: T3): T2 {
  const pooled = tf.mean(features, 1);
  const normed = layerNorm(pooled, get(h, 'head/ln/gamma'), get(h, 'head/ln/beta')) as T2;
  return tf.add(tf.matMul(normed, get(h, 'head/dense/kernel') as T2), get(h, 'head/dense/bias')) as T2;
}

/** Mean softmax cross-entropy of logits [b, C] against class indices. */
export function crossEntropy(logits: T2, labels: tf.Tensor1D, classCount: number): tf.Scalar {
  const oneHot = tf.oneHot(labels, classCount);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

/** Names of the 2-D kernels whose transposes the 'fast' encoder needs. */
export function transposedKernelNames(c: ResolvedModelConfig): string[] {
  const names: string[] = [];
  for (let i = 0; i < c.blocks; i++) {
    for (const t of LORA_TARGETS) names.push(`block${i}/${t}/kernel`);
    names.push(`block${i}/ffn1/kernel`, `block${i}/ffn2/kernel`);
  }
  return names;
}
