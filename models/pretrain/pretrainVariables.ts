/**
 * The trainable variables both pre-training scripts (pretrain.ts, pretrainMasked.ts) start from
 * and the frozen weights they hand back. The draw order is part of the committed checkpoints'
 * regeneration commands: the foundation from `random.fork('init')`, then each pretext head's
 * kernels from `random.fork('head')` in the order of its shapes.
 */
import * as tf from '@tensorflow/tfjs';
import { frozenWeightShapes, sizeOf, type ResolvedModelConfig } from '../config';
import { randomFoundationWeights } from '../foundation';
import type { RandomStream } from '../../util/random';

/** The embedding and encoder (randomly initialised) and a pretext head (LayerNorm gammas 1, kernels U(−limit, limit), the rest 0), as variables by name. */
export function pretrainVariables(
  c: ResolvedModelConfig,
  random: RandomStream,
  head: Readonly<Record<string, number[]>>,
  kernelLimit: number,
): Record<string, tf.Variable> {
  const shapes = frozenWeightShapes(c);
  const vars: Record<string, tf.Variable> = {};
  for (const [name, v] of Object.entries(randomFoundationWeights(c, random.fork('init'))))
    vars[name] = tf.variable(tf.tensor(v, shapes[name] as number[]), true, name);
  const headInit = random.fork('head');
  for (const [name, shape] of Object.entries(head)) {
    const v = new Float32Array(sizeOf(shape));
    if (name.endsWith('gamma')) v.fill(1);
    else if (name.endsWith('kernel')) for (let i = 0; i < v.length; i++) v[i] = headInit.between(-kernelLimit, kernelLimit);
    vars[name] = tf.variable(tf.tensor(v, shape), true, name);
  }
  return vars;
}

/** The frozen weights (embedding and encoder) out of the variables, then every variable disposed. */
export function releaseFrozenWeights(c: ResolvedModelConfig, vars: Record<string, tf.Variable>): Record<string, Float32Array> {
  const weights: Record<string, Float32Array> = {};
  for (const name of Object.keys(frozenWeightShapes(c))) weights[name] = new Float32Array((vars[name] as tf.Variable).dataSync());
  for (const v of Object.values(vars)) v.dispose();
  return weights;
}
