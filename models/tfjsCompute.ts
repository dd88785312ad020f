/**
 * The server's encoder (compute.ts) on this thread's TensorFlow.js backend: the forward pass is
 * transformer.ts's encoderApply ('fast' mode, devices stacked by rows), the backward pass the
 * hand-written one of encoderBackward.ts; the intermediates between the two stay as tensors in
 * this compute's store (keptCache.ts), never copied out.
 */
import * as tf from '@tensorflow/tfjs';
import { checkForwardItems, type EncoderCache, type ForwardItem, type ForwardOptions, type ServerCompute } from './compute';
import { encoderGradients, serverForward, stackedDevices } from './encoderBackward';
import type { Foundation } from './foundation';
import { KeptTensors } from './keptCache';
import { evaluate } from './split';
import { stackCuts, tidyData, toCut, type Cut } from './tensors';

/** Each device's rows of a stacked tensor whose leading dimension is proportional to the samples (linear on wasm: wasmSlice.ts). */
function splitSamples(t: tf.Tensor, samples: readonly number[], total: number): tf.Tensor[] {
  if (samples.length === 1) return [t];
  const perSample = (t.shape[0] as number) / total;
  return tf.split(
    t,
    samples.map((b) => b * perSample),
    0,
  );
}

function forward(
  foundation: Foundation,
  store: KeptTensors,
  items: readonly ForwardItem[],
  options?: ForwardOptions,
): Array<{ features: Cut; cache: EncoderCache }> {
  const keys = options?.keys;
  const samples = checkForwardItems(foundation, items, options);
  const b = samples.reduce((a, x) => a + x, 0);
  return tidyData(() => {
    const record: Record<string, tf.Tensor> | undefined = keys ? {} : undefined;
    const devices = stackedDevices(
      foundation,
      items.map((it) => it.lora),
      samples,
    );
    const features = serverForward(foundation, devices, stackCuts(items.map((it) => it.activations)), b, record);
    const feats = splitSamples(features, samples, b).map(toCut);
    const names = Object.keys(record ?? {});
    const parts = names.map((name) => splitSamples((record as Record<string, tf.Tensor>)[name] as tf.Tensor, samples, b));
    return samples.map((bk, k) => {
      const activations = (items[k] as ForwardItem).activations;
      if (!keys) return { features: feats[k] as Cut, cache: { batchSize: bk, activations } };
      const mine: Record<string, tf.Tensor> = {};
      names.forEach((name, j) => (mine[name] = tf.keep((parts[j] as tf.Tensor[])[k] as tf.Tensor)));
      const key = keys[k] as string;
      store.keep(key, mine);
      return { features: feats[k] as Cut, cache: { batchSize: bk, key, activations } };
    });
  });
}

/** The server's encoder on this thread's TensorFlow.js backend (`backend`: its name, for the log header). */
export function tfjsCompute(foundation: Foundation, backend: string = tf.getBackend()): ServerCompute {
  const kept = new KeptTensors();
  return {
    backend,
    forward: (items, options) => forward(foundation, kept, items, options),
    gradients: (items) => encoderGradients(foundation, items, kept),
    release: (prefix) => kept.release(prefix),
    evaluate: (lora, head, data, maxSamples) => evaluate(foundation, lora, head, data, maxSamples),
  };
}
