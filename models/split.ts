/**
 * Split execution (MODEL.md §2, step 4) as pure functions on typed arrays. Every value that
 * crosses a cut is a `Cut` (a Float32Array and a shape) that can be sent as a message:
 *   device  embed()             → activations X [b, L, d]   (uplink)
 *   server  compute.forward()   → features H    [b, L, d]   (downlink)
 *   device  headStep()          → ∂loss/∂H      [b, L, d]   (uplink), head updated
 *   server  backward(compute)   → LoRA copy updated
 * The server's side is compute.ts's API; this file holds the device's side, the same model run
 * unsplit (the reference and the centralised baseline) and the evaluator's scoring. Each call runs
 * inside tf.tidy and leaves no tensor behind. Optimiser: Adam on typed arrays (optimizer.ts), one
 * state for the head on the device and one per LoRA copy on the server.
 */
import * as tf from '@tensorflow/tfjs';
import { headShapes, loraShapes, sizeOf } from './config';
import { backward, type EncoderCache, type ForwardOptions, type ServerCompute } from './compute';
import type { Foundation } from './foundation';
import { adamUpdate, type OptimizerState } from './optimizer';
import { checkCut, ownedValues, ShapeError, tensors, tidyData, toCut, type Cut } from './tensors';
import { crossEntropy, embedSamples, encoderApply, headApply, type EncoderMode } from './transformer';
import type { Dataset } from './data/dataset';
import type { RandomStream } from '../util/random';

export { ShapeError, type Cut } from './tensors';

/** LoRA adapters: `block<i>/<target>/A` [d, r] and `.../B` [r, d] (config.ts, loraShapes). */
export type LoraWeights = Record<string, Float32Array>;
/** Task module: `head/ln/gamma`, `head/ln/beta`, `head/dense/kernel` [d, C], `head/dense/bias` [C]. */
export type HeadWeights = Record<string, Float32Array>;

/** LoRA initialisation (Hu et al. 2021): B = 0, A uniform in ±1/√dIn from `random` (so ΔW = 0 at the start). */
export function initLora(foundation: Foundation, random: RandomStream): LoraWeights {
  const out: LoraWeights = {};
  for (const [name, shape] of Object.entries(loraShapes(foundation.config))) {
    const v = new Float32Array(sizeOf(shape));
    if (name.endsWith('/A')) {
      const limit = 1 / Math.sqrt(shape[0] as number);
      for (let i = 0; i < v.length; i++) v[i] = random.between(-limit, limit);
    }
    out[name] = v;
  }
  return out;
}

/** Head initialisation: LayerNorm at identity, Glorot-uniform kernel from `random`, zero bias. */
export function initHead(foundation: Foundation, random: RandomStream): HeadWeights {
  const out: HeadWeights = {};
  for (const [name, shape] of Object.entries(headShapes(foundation.config))) {
    const v = new Float32Array(sizeOf(shape));
    if (name.endsWith('gamma')) v.fill(1);
    else if (name.endsWith('kernel')) {
      const limit = Math.sqrt(6 / ((shape[0] as number) + (shape[1] as number)));
      for (let i = 0; i < v.length; i++) v[i] = random.between(-limit, limit);
    }
    out[name] = v;
  }
  return out;
}

/** Checks that `features` holds `batchSize` samples of the model's input (token ids in range for a token task). */
export function checkSamples(f: Foundation, features: Float32Array, batchSize: number): void {
  const c = f.config;
  if (features.length < batchSize * c.inputSize)
    throw new ShapeError(`embed: ${batchSize} samples need ${batchSize * c.inputSize} values, got ${features.length}`);
  if (c.task.kind === 'tokens') {
    // A gather reads out of bounds silently: check the ids here.
    for (let i = 0; i < batchSize * c.inputSize; i++) {
      const id = features[i] as number;
      if (!Number.isInteger(id) || id < 0 || id >= c.task.vocabSize)
        throw new ShapeError(`embed: value ${i} is ${id}, not a token id in [0, ${c.task.vocabSize})`);
    }
  }
}

function embedTensor(f: Foundation, features: Float32Array, batchSize: number): tf.Tensor3D {
  checkSamples(f, features, batchSize);
  return embedSamples(f.config, f.weights, features, batchSize);
}

/** Device: the frozen embedding module on `batchSize` samples (rows of `features`) → activations [b, L, d]. */
export function embed(foundation: Foundation, features: Float32Array, batchSize: number): Cut {
  return tidyData(() => toCut(embedTensor(foundation, features, batchSize)));
}

/** Device: loss, head gradients and ∂loss/∂features (mean cross-entropy over the batch). */
export function headGradients(
  foundation: Foundation,
  head: HeadWeights,
  features: Cut,
  labels: Int32Array,
): { grads: HeadWeights; featureGrad: Cut; loss: number } {
  const b = checkCut(foundation, features, 'headStep features');
  if (labels.length !== b) throw new ShapeError(`headStep: ${b} feature rows but ${labels.length} labels`);
  const c = foundation.config;
  return tidyData(() => {
    const h = tensors(head, headShapes(c), 'head');
    const names = Object.keys(h);
    const y = tf.tensor1d(labels, 'int32');
    const x = tf.tensor3d(features.data, features.shape as [number, number, number]);
    const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => {
      const hp: Record<string, tf.Tensor> = {};
      names.forEach((n, i) => (hp[n] = args[i + 1] as tf.Tensor));
      return crossEntropy(headApply(hp, args[0] as tf.Tensor3D), y, c.classCount);
    })([x, ...names.map((n) => h[n] as tf.Tensor)]);
    const out: HeadWeights = {};
    names.forEach((n, i) => (out[n] = ownedValues(grads[i + 1] as tf.Tensor)));
    return { grads: out, featureGrad: toCut(grads[0] as tf.Tensor), loss: value.dataSync()[0] as number };
  });
}

/** Device: one head update (Adam) and the cut gradient to send back. */
export function headStep(
  foundation: Foundation,
  head: HeadWeights,
  headOpt: OptimizerState,
  features: Cut,
  labels: Int32Array,
  lr: number,
): { head: HeadWeights; headOpt: OptimizerState; featureGrad: Cut; loss: number } {
  const g = headGradients(foundation, head, features, labels);
  const u = adamUpdate(head, g.grads, headOpt, lr);
  return { head: u.weights, headOpt: u.state, featureGrad: g.featureGrad, loss: g.loss };
}

/**
 * The same model run unsplit in one process: loss and gradients of LoRA and head from raw
 * samples, through tfjs's own gradients ('reference') or the hand-written ones ('fast').
 */
export function unsplitGradients(
  foundation: Foundation,
  lora: LoraWeights,
  head: HeadWeights,
  features: Float32Array,
  labels: Int32Array,
  mode: EncoderMode = 'reference',
): { lora: LoraWeights; head: HeadWeights; loss: number } {
  const c = foundation.config;
  const b = labels.length;
  return tidyData(() => {
    const x = embedTensor(foundation, features, b);
    const y = tf.tensor1d(labels, 'int32');
    const l = tensors(lora, loraShapes(c), 'lora');
    const h = tensors(head, headShapes(c), 'head');
    const ln = Object.keys(l);
    const hn = Object.keys(h);
    const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => {
      const lp: Record<string, tf.Tensor> = {};
      const hp: Record<string, tf.Tensor> = {};
      ln.forEach((n, i) => (lp[n] = args[i] as tf.Tensor));
      hn.forEach((n, i) => (hp[n] = args[ln.length + i] as tf.Tensor));
      const feats = encoderApply(c, { weights: foundation.weights, transposed: foundation.transposed, lora: lp, mode }, x, b);
      return crossEntropy(headApply(hp, feats), y, c.classCount);
    })([...ln.map((n) => l[n] as tf.Tensor), ...hn.map((n) => h[n] as tf.Tensor)]);
    const lo: LoraWeights = {};
    const ho: HeadWeights = {};
    ln.forEach((n, i) => (lo[n] = ownedValues(grads[i] as tf.Tensor)));
    hn.forEach((n, i) => (ho[n] = ownedValues(grads[ln.length + i] as tf.Tensor)));
    return { lora: lo, head: ho, loss: value.dataSync()[0] as number };
  });
}

/** State of centralised (unsplit) training: weights and Adam states as typed arrays. */
export interface TrainState {
  lora: LoraWeights;
  loraOpt: OptimizerState;
  head: HeadWeights;
  headOpt: OptimizerState;
}

/** One unsplit training step in one process (fast gradients): the centralised baseline and the benchmark's reference. */
export function unsplitStep(
  foundation: Foundation,
  s: TrainState,
  features: Float32Array,
  labels: Int32Array,
  lr: number,
  mode: EncoderMode = 'fast',
): TrainState & { loss: number } {
  const g = unsplitGradients(foundation, s.lora, s.head, features, labels, mode);
  const l = adamUpdate(s.lora, g.lora, s.loraOpt, lr);
  const h = adamUpdate(s.head, g.head, s.headOpt, lr);
  return { lora: l.weights, loraOpt: l.state, head: h.weights, headOpt: h.state, loss: g.loss };
}

/**
 * One split step, device → server → device → server, in one process (tests, benchmark): the
 * server's part on `compute` (compute.ts); without `options.keys` a stateless server (its
 * backward pass runs the forward pass again).
 */
export function splitStep(
  foundation: Foundation,
  compute: ServerCompute,
  s: TrainState,
  features: Float32Array,
  labels: Int32Array,
  lr: number,
  options?: ForwardOptions,
): TrainState & { loss: number } {
  const activations = embed(foundation, features, labels.length);
  const [server] = compute.forward([{ lora: s.lora, activations }], options);
  const { features: feats, cache } = server as { features: Cut; cache: EncoderCache };
  const h = headStep(foundation, s.head, s.headOpt, feats, labels, lr);
  const [l] = backward(compute, [{ lora: s.lora, loraOpt: s.loraOpt, cache, featureGrad: h.featureGrad, lr }]);
  const { lora, loraOpt } = l as { lora: LoraWeights; loraOpt: OptimizerState };
  return { lora, loraOpt, head: h.head, headOpt: h.headOpt, loss: h.loss };
}

/** Accuracy and mean cross-entropy of the model on (up to `maxSamples` first rows of) `data`, in batches of 250. */
export function evaluate(
  foundation: Foundation,
  lora: LoraWeights,
  head: HeadWeights,
  data: Dataset,
  maxSamples?: number,
): { accuracy: number; loss: number } {
  const c = foundation.config;
  return scoreBatches(data, c.classCount, maxSamples, (samples, b) =>
    tidyData(() => {
      const x = embedTensor(foundation, samples, b);
      const l = tensors(lora, loraShapes(c), 'lora');
      const h = tensors(head, headShapes(c), 'head');
      const feats = encoderApply(c, { weights: foundation.weights, transposed: foundation.transposed, lora: l, mode: 'fast' }, x, b);
      return ownedValues(headApply(h, feats));
    }),
  );
}

/**
 * Accuracy and mean cross-entropy on (up to `maxSamples` first rows of) `data`, from `logitsOf`
 * (b samples' rows → logits [b, classCount]) run on batches of 250: the evaluator's arithmetic,
 * whichever backend computes the logits.
 */
export function scoreBatches(
  data: Dataset,
  classCount: number,
  maxSamples: number | undefined,
  logitsOf: (samples: Float32Array, b: number) => Float32Array,
): { accuracy: number; loss: number } {
  const n = Math.min(data.count, maxSamples ?? data.count);
  if (n === 0) return { accuracy: 0, loss: 0 };
  let correct = 0;
  let lossSum = 0;
  const batch = 250;
  const size = data.featureSize;
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const logits = logitsOf(data.features.subarray(start * size, (start + b) * size), b);
    // Row i is logits[at, at + classCount): read in place, not through a view per row.
    for (let i = 0, at = 0; i < b; i++, at += classCount) {
      let best = 0;
      let max = -Infinity;
      for (let k = 0; k < classCount; k++) {
        const x = logits[at + k] as number;
        if (x > max) {
          max = x;
          best = k;
        }
      }
      let z = 0;
      for (let k = 0; k < classCount; k++) z += Math.exp((logits[at + k] as number) - max);
      const label = data.labels[start + i] as number;
      lossSum += Math.log(z) - ((logits[at + label] as number) - max);
      if (best === label) correct++;
    }
  }
  return { accuracy: correct / n, loss: lossSum / n };
}

/** A mini-batch of `batchSize` rows of `data`, drawn uniformly with replacement from `random`. */
export function selectBatch(data: Dataset, batchSize: number, random: RandomStream): { features: Float32Array; labels: Int32Array } {
  const features = new Float32Array(batchSize * data.featureSize);
  const labels = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) {
    const row = random.int(data.count);
    features.set(data.features.subarray(row * data.featureSize, (row + 1) * data.featureSize), i * data.featureSize);
    labels[i] = data.labels[row] as number;
  }
  return { features, labels };
}
