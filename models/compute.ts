/**
 * What the edge server's shards and the evaluator compute (MODEL.md §1, §2 step 4), behind one
 * interface so the backend is a choice of the run: the encoder's forward pass with each device's
 * LoRA adapters (keeping what the backward pass needs under a key), the backward pass into the
 * adapters with each device's Adam step, and the evaluator's scoring. `tfjsCompute` runs
 * models/cached.ts and split.ts on the thread's TensorFlow.js backend; `onnx/ortCompute.ts` runs
 * the same model as ONNX graphs on onnxruntime-node. The device side (embedding, task module)
 * stays on TensorFlow.js either way.
 */
import { adamSteps, encoderForwardCachedMany, encoderGradientsCachedMany, type CachedBackwardItem, type CachedForwardItem, type CachedGradientItem, type EncoderCache } from './cached';
import type { Dataset } from './data/dataset';
import type { Foundation } from './foundation';
import { KeptTensors } from './keptCache';
import type { OptimizerState } from './optimizer';
import { evaluate, type Cut, type HeadWeights, type LoraWeights } from './split';

export interface ServerCompute {
  /** The backend's name, as written in the log header. */
  readonly backend: string;
  /** The encoder over several devices' activations, each with its adapters; each device's cache is kept under `keys[k]`. */
  forwardMany(items: readonly CachedForwardItem[], keys: readonly string[]): Array<{ features: Cut; cache: EncoderCache }>;
  /** Each device's LoRA gradients from its cache and cut gradient (a cache this thread does not hold is rebuilt). */
  gradientsMany(items: readonly CachedGradientItem[]): LoraWeights[];
  /** Frees what is kept under keys starting with `prefix`; returns how many entries. */
  release(prefix: string): number;
  /** Accuracy and mean cross-entropy of the model on (up to `maxSamples` first rows of) `data`. */
  evaluate(lora: LoraWeights, head: HeadWeights, data: Dataset, maxSamples?: number): { accuracy: number; loss: number };
}

/** The server's backward pass: each device's gradients, then its Adam step on its own LoRA copy. */
export function backwardMany(compute: ServerCompute, items: readonly CachedBackwardItem[]): Array<{ lora: LoraWeights; loraOpt: OptimizerState }> {
  return adamSteps(items, compute.gradientsMany(items));
}

/** models/cached.ts and split.ts on this thread's TensorFlow.js backend, intermediates kept as tensors. */
export function tfjsCompute(foundation: Foundation, backend: string): ServerCompute {
  const kept = new KeptTensors();
  return {
    backend,
    forwardMany: (items, keys) => encoderForwardCachedMany(foundation, items, { store: kept, keys }),
    gradientsMany: (items) => encoderGradientsCachedMany(foundation, items, kept),
    release: (prefix) => kept.release(prefix),
    evaluate: (lora, head, data, maxSamples) => evaluate(foundation, lora, head, data, maxSamples),
  };
}
