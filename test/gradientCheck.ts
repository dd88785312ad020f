/** Shared by the exactness tests (split, batched, text model): relative errors, and LoRA weights that exercise every gradient path. */
import * as tf from '@tensorflow/tfjs';
import { adamUpdate, initLora, type Cut, type Foundation, type LoraWeights, type OptimizerState } from '../models';
import { loraShapes } from '../models/config';
import { ownedValues, tensors, tidyData, toCut } from '../models/tensors';
import { encoderApply, type EncoderMode } from '../models/transformer';
import { RandomStream } from '../util/random';

/** max|got − want| / max|want| (the absolute difference when `want` is all zeros). */
export function relativeError(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
    scale = Math.max(scale, Math.abs(want[i] as number));
  }
  return scale > 0 ? diff / scale : diff;
}

/** The worst `relativeError` over the arrays of two records with the same names. */
export function maxRelativeError(got: Record<string, Float32Array>, want: Record<string, Float32Array>): number {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  return Math.max(0, ...Object.keys(want).map((k) => relativeError(got[k] as Float32Array, want[k] as Float32Array)));
}

/** A LoRA copy with B ≠ 0 (B starts at 0), so every gradient path is exercised. */
export function loraWithNonzeroB(f: Foundation, seed: number): LoraWeights {
  const r = RandomStream.fromSeed(seed, 'lora');
  const lora = initLora(f, r);
  for (const k of Object.keys(lora)) if (k.endsWith('/B')) lora[k] = (lora[k] as Float32Array).map(() => 0.05 * r.normal());
  return lora;
}

/**
 * The server's encoder run through tfjs's own tape, independently of models/compute.ts: features
 * of one device (encoderApply, no adapters stacked, nothing recorded) and, with `featureGrad`, the
 * vector-Jacobian product into its LoRA copy by tf.grads ('fast': ops.ts's custom gradients;
 * 'reference': tfjs's own).
 */
export function tapeForward(f: Foundation, lora: LoraWeights, activations: Cut, mode: EncoderMode = 'fast'): Cut {
  return tidyData(() => {
    const x = tf.tensor3d(activations.data, activations.shape as [number, number, number]);
    const l = tensors(lora, loraShapes(f.config), 'lora');
    return toCut(
      encoderApply(f.config, { weights: f.weights, transposed: f.transposed, lora: l, mode }, x, activations.shape[0] as number),
    );
  });
}

/** See tapeForward: the device's LoRA gradients by tf.grads. */
export function tapeGradients(
  f: Foundation,
  lora: LoraWeights,
  activations: Cut,
  featureGrad: Cut,
  mode: EncoderMode = 'fast',
): LoraWeights {
  return tidyData(() => {
    const x = tf.tensor3d(activations.data, activations.shape as [number, number, number]);
    const dy = tf.tensor3d(featureGrad.data, featureGrad.shape as [number, number, number]);
    const l = tensors(lora, loraShapes(f.config), 'lora');
    const names = Object.keys(l);
    const grads = tf.grads((...args: tf.Tensor[]) => {
      const lp: Record<string, tf.Tensor> = {};
      names.forEach((n, i) => (lp[n] = args[i] as tf.Tensor));
      return encoderApply(f.config, { weights: f.weights, transposed: f.transposed, lora: lp, mode }, x, activations.shape[0] as number);
    })(
      names.map((n) => l[n] as tf.Tensor),
      dy,
    );
    const out: LoraWeights = {};
    names.forEach((n, i) => (out[n] = ownedValues(grads[i] as tf.Tensor)));
    return out;
  });
}

/** tapeGradients, then the Adam step: the server's backward pass through the tape. */
export function tapeBackward(
  f: Foundation,
  lora: LoraWeights,
  loraOpt: OptimizerState,
  activations: Cut,
  featureGrad: Cut,
  lr: number,
): { lora: LoraWeights; loraOpt: OptimizerState } {
  const u = adamUpdate(lora, tapeGradients(f, lora, activations, featureGrad), loraOpt, lr);
  return { lora: u.weights, loraOpt: u.state };
}
