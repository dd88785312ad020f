/**
 * The frozen foundation model (MODEL.md §1): embedding and encoder weights, loaded once per
 * worker thread and shared by every actor on it. Holds tensors (the frozen weights and
 * transposed copies of the encoder's kernels for the fast backward pass); everything
 * that changes during training (LoRA, heads, optimiser state) lives outside as typed arrays.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CheckpointError, readCheckpoint, writeCheckpoint } from './checkpoint';
import { frozenWeightShapes, resolveConfig, sizeOf, type ModelConfig, type ResolvedModelConfig, type TaskName } from './config';
import { transposedKernelNames } from './transformer';
import type { RandomStream } from '../util/random';

export interface Foundation {
  readonly config: ResolvedModelConfig;
  /** Where the weights came from: a checkpoint folder, or `random(<stream name>)`. */
  readonly source: string;
  /** Frozen weights by checkpoint name. */
  readonly weights: Readonly<Record<string, tf.Tensor>>;
  /** Transposed copies of the encoder's 2-D kernels. */
  readonly transposed: Readonly<Record<string, tf.Tensor>>;
  /** Frees the tensors. */
  dispose(): void;
}

/**
 * The checkpoint committed with the project for `task` (built by `models/pretrain/pretrain.ts`): next to
 * this file when run from the sources, `../../models/checkpoints` when run from `dist/models/`.
 */
export function defaultCheckpointDir(task: TaskName): string {
  const name = `${task}-foundation`;
  return (
    [join(__dirname, 'checkpoints', name), join(__dirname, '..', '..', 'models', 'checkpoints', name)].find((d) =>
      existsSync(join(d, 'model.json')),
    ) ?? join(__dirname, 'checkpoints', name)
  );
}

/** The digits task's committed checkpoint (the default task's). */
export const DEFAULT_CHECKPOINT_DIR = defaultCheckpointDir('digits');

/** Builds a Foundation from typed arrays (checked against the config's shapes). */
export function foundationFromWeights(
  config: ModelConfig | ResolvedModelConfig,
  values: Readonly<Record<string, Float32Array>>,
  source: string,
): Foundation {
  const c = 'patches' in config ? config : resolveConfig(config);
  const shapes = frozenWeightShapes(c);
  const weights: Record<string, tf.Tensor> = {};
  const transposed: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const v = values[name];
    if (!v || v.length !== sizeOf(shape))
      throw new Error(`foundation weight '${name}' missing or of the wrong size (needs [${shape.join(', ')}])`);
    weights[name] = tf.tensor(v, shape, 'float32');
  }
  for (const name of transposedKernelNames(c)) transposed[name] = tf.tidy(() => tf.transpose(weights[name] as tf.Tensor2D));
  return {
    config: c,
    source,
    weights,
    transposed,
    dispose() {
      for (const t of [...Object.values(weights), ...Object.values(transposed)]) t.dispose();
    },
  };
}

/** Seeded random initial weights (LayerNorm at identity, Glorot-uniform kernels, zero biases, small positions). */
export function randomFoundationWeights(config: ModelConfig | ResolvedModelConfig, random: RandomStream): Record<string, Float32Array> {
  const c = 'patches' in config ? config : resolveConfig(config);
  const out: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(frozenWeightShapes(c))) {
    const v = new Float32Array(sizeOf(shape));
    if (name.endsWith('/gamma')) v.fill(1);
    else if (name.endsWith('/kernel')) {
      const limit = Math.sqrt(6 / ((shape[0] as number) + (shape[1] as number)));
      for (let i = 0; i < v.length; i++) v[i] = random.between(-limit, limit);
    } else if (name === 'embed/cls' || name === 'embed/position' || name === 'embed/token')
      for (let i = 0; i < v.length; i++) v[i] = 0.02 * random.normal();
    out[name] = v;
  }
  return out;
}

/** A foundation with random weights: the "no pre-training" baseline, and pre-training's start. */
export function createRandomFoundation(config: ModelConfig | ResolvedModelConfig, random: RandomStream): Foundation {
  return foundationFromWeights(config, randomFoundationWeights(config, random), `random(${random.name})`);
}

function describeField(c: ResolvedModelConfig): (name: string) => string {
  return (name: string) => {
    if (/^block(\d+)\//.test(name)) {
      const i = Number(/^block(\d+)\//.exec(name)?.[1]);
      if (i >= c.blocks) return `the config has model.blocks = ${c.blocks}`;
      if (/ffn/.test(name)) return `the config has model.dModel = ${c.dModel}, model.ffnDim = ${c.ffnDim}`;
      return `the config has model.dModel = ${c.dModel}, model.blocks = ${c.blocks}`;
    }
    if (name.startsWith('embed/'))
      return c.task.kind === 'tokens'
        ? `the config has model.task = '${c.task.name}', model.dModel = ${c.dModel}, a vocabulary of ${c.task.vocabSize} tokens and ${c.tokens} positions`
        : `the config has model.dModel = ${c.dModel} and ${c.tokens} tokens of ${c.patchSize} values`;
    return 'not part of the embedding or encoder';
  };
}

/**
 * Loads the frozen embedding and encoder from a TensorFlow.js checkpoint folder (default: the
 * committed checkpoint of the config's task). Fails with a CheckpointError naming the file and
 * the problem (missing, truncated, corrupt, shapes that do not fit `config`, or another task).
 * Call once per worker thread.
 */
export async function loadFoundation(opts: { checkpointDir?: string; config: ModelConfig }): Promise<Foundation> {
  const c = resolveConfig(opts.config);
  const dir = opts.checkpointDir && opts.checkpointDir.length > 0 ? opts.checkpointDir : defaultCheckpointDir(c.task.name);
  const { weights, topology } = await readCheckpoint(dir, frozenWeightShapes(c), describeField(c));
  const saved = (topology as { config?: { heads?: unknown; task?: unknown } } | null | undefined)?.config;
  if (typeof saved?.task === 'string' && saved.task !== c.task.name)
    throw new CheckpointError(dir, `was trained for task '${saved.task}' but the config has model.task = '${c.task.name}'`);
  if (typeof saved?.heads === 'number' && saved.heads !== c.heads)
    throw new CheckpointError(dir, `was trained with ${saved.heads} attention heads but the config has model.heads = ${c.heads}`);
  return foundationFromWeights(c, weights, dir);
}

/** The frozen weights as typed arrays (copies). */
export function foundationWeights(f: Foundation): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(f.weights)) out[name] = new Float32Array(t.dataSync());
  return out;
}

/** Saves frozen weights as a TensorFlow.js checkpoint (model.json + weights.bin) through `file://`. */
export async function saveFoundation(
  dir: string,
  config: ModelConfig | ResolvedModelConfig,
  values: Readonly<Record<string, Float32Array>>,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  const c = 'patches' in config ? config : resolveConfig(config);
  const shapes = frozenWeightShapes(c);
  const entries: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const v = values[name];
    if (!v || v.length !== sizeOf(shape)) throw new Error(`cannot save: weight '${name}' missing or of the wrong size`);
    entries[name] = { data: v, shape };
  }
  const common = { task: c.task.name, dModel: c.dModel, blocks: c.blocks, heads: c.heads, ffnDim: c.ffnDim, tokens: c.tokens };
  const topology = {
    class: 'AirloraFoundation',
    config:
      c.task.kind === 'tokens'
        ? { ...common, vocabSize: c.task.vocabSize, sequenceLength: c.task.sequenceLength }
        : { ...common, patchSize: c.patchSize },
  };
  await writeCheckpoint(dir, entries, topology, metadata);
}
