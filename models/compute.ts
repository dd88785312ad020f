/**
 * The server's encoder (MODEL.md §1, §2 step 4), one small API for every backend: the forward pass
 * over one or more devices' activations, each with its own LoRA adapters, and the backward pass
 * into each device's adapters from its cut gradient, with the evaluator's scoring beside them.
 * - Batching: several devices given at once run as one stacked pass (the frozen weights on all
 *   rows, each adapter on its own device's rows, as multi-LoRA serving systems do: S-LoRA, Sheng
 *   et al. 2023; Punica, Chen et al. 2023); each device gets what it would get alone (bit for bit
 *   alone, to within 1e-5 relative stacked: test/models.batched.test.ts).
 * - Caching: with `keys`, what the backward pass needs from the forward pass stays in the compute
 *   under each device's key (a memo: the cache also carries the activations, so a compute that
 *   does not hold the key runs the forward pass again, with the same values). Without keys,
 *   nothing is kept and the backward pass runs the forward pass again (a stateless server).
 * `tfjsCompute` (tfjsCompute.ts) runs it on the thread's TensorFlow.js backend, `OrtCompute`
 * (onnx/ortCompute.ts) as ONNX graphs on onnxruntime-node. The device side (embedding, task
 * module) stays on TensorFlow.js either way (split.ts).
 */
import type { Dataset } from './data/dataset';
import type { Foundation } from './foundation';
import { adamUpdate, type OptimizerState } from './optimizer';
import type { HeadWeights, LoraWeights } from './split';
import { checkCut, ShapeError, type Cut } from './tensors';

/**
 * What a device's backward pass needs from its forward pass, structured-clone safe (an actor keeps
 * it in its state between the two messages): the forward pass's input, and the key its
 * intermediates are kept under in the compute that ran it (absent: none kept).
 */
export interface EncoderCache {
  /** Batch size b of the forward pass. */
  batchSize: number;
  /** The forward pass's input, to run it again where the compute holds no such key. */
  activations: Cut;
  /** Key of the intermediates kept in the compute that ran the forward pass. */
  key?: string;
}

/** One device's share of a forward pass: its LoRA copy and its activations [b, L, d]. */
export interface ForwardItem {
  readonly lora: LoraWeights;
  readonly activations: Cut;
}

/** One device's share of a backward pass: its LoRA copy, the cache of its forward pass and its cut gradient. */
export interface GradientItem {
  readonly lora: LoraWeights;
  readonly cache: EncoderCache;
  readonly featureGrad: Cut;
}

/** A GradientItem with the device's optimiser state and learning rate, for its Adam step. */
export interface BackwardItem extends GradientItem {
  readonly loraOpt: OptimizerState;
  readonly lr: number;
}

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Keep device k's intermediates under `keys[k]` for its backward pass (one key per device). */
  readonly keys?: readonly string[];
}

export interface ServerCompute {
  /** The backend's name, as written in the log header. */
  readonly backend: string;
  /** The encoder over the devices' activations (one stacked pass), each with its adapters → each one's features [b_k, L, d] and cache. */
  forward(items: readonly ForwardItem[], options?: ForwardOptions): Array<{ features: Cut; cache: EncoderCache }>;
  /** Each device's LoRA gradients from its cache and cut gradient (one stacked pass; a cache this compute does not hold is rebuilt). */
  gradients(items: readonly GradientItem[]): LoraWeights[];
  /** Frees what is kept under keys starting with `prefix`; returns how many entries. */
  release(prefix: string): number;
  /** Accuracy and mean cross-entropy of the model on (up to `maxSamples` first rows of) `data`. */
  evaluate(lora: LoraWeights, head: HeadWeights, data: Dataset, maxSamples?: number): { accuracy: number; loss: number };
}

/** The server's backward pass: each device's gradients, then its Adam step on its own LoRA copy. */
export function backward(compute: ServerCompute, items: readonly BackwardItem[]): Array<{ lora: LoraWeights; loraOpt: OptimizerState }> {
  const grads = compute.gradients(items);
  return items.map((it, k) => {
    const u = adamUpdate(it.lora, grads[k] as LoraWeights, it.loraOpt, it.lr);
    return { lora: u.weights, loraOpt: u.state };
  });
}

/** How an error names device k of n: nothing when it is the only one. */
export function deviceLabel(k: number, n: number): string {
  return n === 1 ? '' : `device ${k} `;
}

/** Checks every device's cut (`fn` and `name` name it, and the device when there are several) and returns each one's samples. */
export function checkCuts(foundation: Foundation, cuts: readonly Cut[], fn: string, name: string): number[] {
  if (cuts.length === 0) throw new ShapeError(`${fn}: no devices`);
  return cuts.map((cut, k) =>
    checkCut(foundation, cut, cuts.length === 1 ? `${fn} ${name}` : `${fn}: ${deviceLabel(k, cuts.length)}${name}`),
  );
}

/** Checks the forward pass's items (and one key per device when keys are given) and returns each one's samples. */
export function checkForwardItems(foundation: Foundation, items: readonly ForwardItem[], options?: ForwardOptions): number[] {
  const samples = checkCuts(
    foundation,
    items.map((it) => it.activations),
    'encoderForward',
    'activations',
  );
  const keys = options?.keys;
  if (keys && keys.length !== items.length) throw new ShapeError(`encoderForward: ${items.length} devices but ${keys.length} keys`);
  return samples;
}

/** Checks the backward pass's items (cut gradients against their caches) and returns each one's samples. */
export function checkGradientItems(foundation: Foundation, items: readonly GradientItem[], fn: string): number[] {
  const samples = checkCuts(
    foundation,
    items.map((it) => it.featureGrad),
    fn,
    'featureGrad',
  );
  items.forEach((it, k) => {
    if (samples[k] !== it.cache.batchSize)
      throw new ShapeError(`${fn}: ${deviceLabel(k, items.length)}a cache of ${it.cache.batchSize} rows but ${samples[k]} gradient rows`);
  });
  return samples;
}
