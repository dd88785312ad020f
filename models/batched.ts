/**
 * Multi-adapter batching for callers without a cache (MODEL.md §1–§2 step 4, the edge
 * server's work): the forward pass, the gradients and the backward pass with Adam for several
 * devices at once, each with its own LoRA copy. They run cached.ts's batched pair (the frozen
 * weights on all rows in one product, each adapter on its own rows); `batchedEncoderGradients`
 * runs the forward pass first, as split.ts's encoderGradients does. Equal to per-device execution
 * to within 1e-5 relative (test/models.batched.test.ts). The simulation's server shards call
 * cached.ts directly, keeping each device's cache between its two messages.
 */
import type { Foundation } from './foundation';
import type { OptimizerState } from './optimizer';
import type { Cut, LoraWeights } from './split';
import { KeptTensors } from './keptCache';
import { encoderBackwardCachedMany, encoderForwardCachedMany, encoderGradientsCachedMany, type CachedForwardItem, type EncoderCache } from './cached';

/** One device's share of a batched forward pass. */
export type BatchedForwardItem = CachedForwardItem;

/** One device's share of a batched backward pass. */
export interface BatchedGradientItem extends BatchedForwardItem {
  readonly featureGrad: Cut;
}

/** One device's share of a batched backward pass with its Adam step. */
export interface BatchedBackwardItem extends BatchedGradientItem {
  readonly loraOpt: OptimizerState;
  readonly lr: number;
}

/** Server: the encoder run once on the stacked activations of several devices → each device's features. */
export function batchedEncoderForward(foundation: Foundation, items: readonly BatchedForwardItem[]): Cut[] {
  // The intermediates are kept as tensors and freed at once, rather than copied out only to be dropped.
  const store = new KeptTensors();
  const out = encoderForwardCachedMany(foundation, items, { store, keys: items.map((_, k) => String(k)) });
  store.release('');
  return out.map((r) => r.features);
}

/** With each device's cache from a batched forward pass over `items`. */
function withCaches<T extends BatchedGradientItem>(foundation: Foundation, items: readonly T[]): Array<T & { cache: EncoderCache }> {
  const forward = encoderForwardCachedMany(foundation, items);
  return items.map((it, k) => ({ ...it, cache: forward[k]!.cache }));
}

/** Server: each device's gradients with respect to its own LoRA copy, from one batched forward and one batched backward pass. */
export function batchedEncoderGradients(foundation: Foundation, items: readonly BatchedGradientItem[]): LoraWeights[] {
  return encoderGradientsCachedMany(foundation, withCaches(foundation, items));
}

/** Server: `encoderBackward` for several devices at once (batched passes, then each device's Adam step). */
export function batchedEncoderBackward(foundation: Foundation, items: readonly BatchedBackwardItem[]): Array<{ lora: LoraWeights; loraOpt: OptimizerState }> {
  return encoderBackwardCachedMany(foundation, withCaches(foundation, items));
}
