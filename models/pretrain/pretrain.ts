/**
 * Pre-trains the digits foundation model (embedding + encoder) by self-supervised rotation
 * prediction (Gidaris et al. 2018, "Unsupervised representation learning by predicting image
 * rotations"): each image of the unlabelled pre-training pool (data/digits.ts, PRETRAIN_POOL;
 * no labels are read, the test split is never seen) is turned by 0, 90, 180 or 270 degrees and
 * the model predicts which. The 4-way head is thrown away; only the embedding and encoder are
 * saved, as a TensorFlow.js checkpoint through file://.
 * Option `--method contrastive`: SimCLR (Chen et al. 2020) instead, two views per image (shifts,
 * patch masking), NT-Xent on a 64-d projection of the pooled features. The committed checkpoint
 * uses it (it fine-tunes better: 93.5% vs 91.6%; models/checkpoints/README.md):
 *
 *   nice npx tsx models/pretrain/pretrain.ts --out models/checkpoints/digits-foundation --steps 1500 --batch 64 \
 *     --lr 1e-3 --seed 1 --shift 3 --method contrastive
 *
 *   options: --steps 3000 --batch 64 --lr 1e-3 --seed 1 --shift 0 --method rotation|contrastive
 *            --backend wasm|cpu|node
 *            --dModel 128 --blocks 2 --heads 4 --ffnDim 256
 *
 * `--task sentiment` pre-trains the text foundation instead, by masked-token prediction and
 * word-polarity tagging on unlabelled generated sentences (pretrainMasked.ts; options --steps
 * --batch --lr --seed --mask --sentimentMask, defaults those of the committed checkpoint, whose
 * command is in models/checkpoints/README.md).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend';
import {
  headShapes,
  resolveConfig,
  DEFAULT_MODEL_CONFIG,
  parseTaskName,
  type ModelConfig,
  type ResolvedModelConfig,
  type TaskName,
} from '../config';
import { saveFoundation } from '../foundation';
import { crossEntropy, embedForward, encoderApply, headApply, patchify } from '../transformer';
import { DIGIT_PIXELS, pretrainImages } from '../data/digits';
import { SENTIMENT_PRETRAIN_POOL } from '../data/sentiment';
import { MASKED_HOLDOUT, pretrainMasked, type MaskedPretrainOptions } from './pretrainMasked';
import { RandomStream } from '../../util/random';
import { warmupCosineLr } from '../optimizer';
import { pretrainVariables, releaseFrozenWeights } from './pretrainVariables';

export const ROTATIONS = 4;
/** Output size of the contrastive projection head. */
export const PROJECTION = 64;
const TEMPERATURE = 0.2;

/** NT-Xent (Chen et al. 2020, SimCLR): rows i and i+n of `z` are two views of one image. */
function ntXent(z: tf.Tensor2D, n: number): tf.Scalar {
  const zn = tf.div(z, tf.norm(z, 'euclidean', 1, true).add(1e-8)) as tf.Tensor2D;
  const sim = tf.div(tf.matMul(zn, zn, false, true), TEMPERATURE);
  const masked = tf.sub(sim, tf.mul(tf.eye(2 * n), 1e9)) as tf.Tensor2D;
  const targets = tf.tensor1d(
    Array.from({ length: 2 * n }, (_, i) => (i + n) % (2 * n)),
    'int32',
  );
  return crossEntropy(masked, targets, 2 * n);
}

/**
 * Rotates a 28x28 row-major image by k·90 degrees counter-clockwise, after shifting it by
 * (dy, dx) pixels (zero fill), into `out` at `offset`.
 */
export function rotateImage(
  src: Float32Array,
  srcOffset: number,
  k: number,
  out: Float32Array,
  offset: number,
  side = 28,
  dy = 0,
  dx = 0,
): void {
  for (let r = 0; r < side; r++)
    for (let c = 0; c < side; c++) {
      let sr = r;
      let sc = c;
      if (k === 1) [sr, sc] = [c, side - 1 - r];
      else if (k === 2) [sr, sc] = [side - 1 - r, side - 1 - c];
      else if (k === 3) [sr, sc] = [side - 1 - c, r];
      sr -= dy;
      sc -= dx;
      out[offset + r * side + c] = sr >= 0 && sr < side && sc >= 0 && sc < side ? (src[srcOffset + sr * side + sc] as number) : 0;
    }
}

export interface PretrainOptions {
  config: ModelConfig;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Random shifts of up to ±shift pixels (augmentation), 0 for none. */
  shift: number;
  /** 'rotation' (default) or 'contrastive' (SimCLR: two augmented views per image, NT-Xent). */
  method?: 'rotation' | 'contrastive';
  log?: (line: string) => void;
}

export interface PretrainResult {
  config: ResolvedModelConfig;
  weights: Record<string, Float32Array>;
  /** Rotation accuracy on the last 500 images of the pool, after training (rotations seeded). */
  rotationAccuracy: number;
  seconds: number;
}

/** Rotation-prediction pre-training; returns the embedding and encoder weights. */
export function pretrain(opts: PretrainOptions): PretrainResult {
  const c = resolveConfig(opts.config);
  const random = RandomStream.fromSeed(opts.seed, 'pretrain');
  const contrastive = opts.method === 'contrastive';
  const vars = pretrainVariables(c, random, headShapes(c, contrastive ? PROJECTION : ROTATIONS), 0.2);
  const images = pretrainImages();
  const pool = images.length / DIGIT_PIXELS;
  const holdout = 500;
  const trainPool = pool - holdout;
  const optimizer = tf.train.adam(opts.lr);
  const draw = random.fork('batches');
  const b = opts.batchSize;
  const start = Date.now();
  const forward = (batch: Float32Array, n: number): tf.Tensor2D => {
    const patches = tf.tensor2d(patchify(c, batch, n), [n * c.patches, c.patchSize]);
    const x = embedForward(c, vars, patches, n, true);
    return headApply(vars, encoderApply(c, { weights: vars, mode: 'trainable' }, x, n));
  };
  let recentLoss = 0;
  for (let step = 1; step <= opts.steps; step++) {
    const batch = new Float32Array(b * DIGIT_PIXELS);
    const labels = new Int32Array(b);
    for (let i = 0; i < b; i++) {
      const k = draw.int(ROTATIONS);
      const dy = opts.shift > 0 ? draw.int(2 * opts.shift + 1) - opts.shift : 0;
      const dx = opts.shift > 0 ? draw.int(2 * opts.shift + 1) - opts.shift : 0;
      rotateImage(images, draw.int(trainPool) * DIGIT_PIXELS, k, batch, i * DIGIT_PIXELS, 28, dy, dx);
      labels[i] = k;
    }
    const lr = warmupCosineLr(step, opts.steps, opts.lr);
    (optimizer as unknown as { learningRate: number }).learningRate = lr; // read by AdamOptimizer on every step
    let loss: tf.Scalar | null;
    if (contrastive) {
      const views = new Float32Array(2 * b * DIGIT_PIXELS);
      for (let i = 0; i < b; i++) {
        const src = draw.int(trainPool) * DIGIT_PIXELS;
        for (const v of [i, i + b]) {
          const s = Math.max(1, opts.shift);
          rotateImage(images, src, 0, views, v * DIGIT_PIXELS, 28, draw.int(2 * s + 1) - s, draw.int(2 * s + 1) - s);
          // Patch masking: each 7x7 patch blanked with probability 0.15.
          for (let p = 0; p < 16; p++)
            if (draw.uniform() < 0.15)
              for (let r = 0; r < 7; r++)
                views.fill(
                  0,
                  v * DIGIT_PIXELS + (Math.floor(p / 4) * 7 + r) * 28 + (p % 4) * 7,
                  v * DIGIT_PIXELS + (Math.floor(p / 4) * 7 + r) * 28 + (p % 4) * 7 + 7,
                );
        }
      }
      loss = optimizer.minimize(() => tf.tidy(() => ntXent(forward(views, 2 * b), b)), true);
    } else loss = optimizer.minimize(() => tf.tidy(() => crossEntropy(forward(batch, b), tf.tensor1d(labels, 'int32'), ROTATIONS)), true);
    recentLoss += (loss?.dataSync()[0] as number) ?? 0;
    loss?.dispose();
    if (step % 100 === 0) {
      opts.log?.(
        `step ${step}/${opts.steps} loss ${(recentLoss / 100).toFixed(4)} lr ${lr.toExponential(2)} ${((Date.now() - start) / 1000).toFixed(0)} s`,
      );
      recentLoss = 0;
    }
  }
  // Held-out rotation accuracy (rotation method only).
  const evalRandom = random.fork('eval');
  let correct = 0;
  for (let s0 = 0; s0 < (contrastive ? 0 : holdout); s0 += 250) {
    const n = Math.min(250, holdout - s0);
    const batch = new Float32Array(n * DIGIT_PIXELS);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = evalRandom.int(ROTATIONS);
      rotateImage(images, (trainPool + s0 + i) * DIGIT_PIXELS, k, batch, i * DIGIT_PIXELS);
      labels.push(k);
    }
    const pred = tf.tidy(() => tf.argMax(forward(batch, n), -1).dataSync());
    for (let i = 0; i < n; i++) if (pred[i] === labels[i]) correct++;
  }
  const weights = releaseFrozenWeights(c, vars);
  optimizer.dispose();
  return { config: c, weights, rotationAccuracy: correct / holdout, seconds: (Date.now() - start) / 1000 };
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const task: TaskName = parseTaskName(arg(argv, 'task'));
  const out = arg(argv, 'out') ?? `models/checkpoints/${task}-foundation`;
  const backend = await initBackend(arg(argv, 'backend') as BackendName | undefined);
  const num = (name: string, dflt: number): number => Number(arg(argv, name) ?? dflt);
  const config: ModelConfig = {
    ...DEFAULT_MODEL_CONFIG,
    task,
    dModel: num('dModel', DEFAULT_MODEL_CONFIG.dModel),
    blocks: num('blocks', DEFAULT_MODEL_CONFIG.blocks),
    heads: num('heads', DEFAULT_MODEL_CONFIG.heads),
    ffnDim: num('ffnDim', DEFAULT_MODEL_CONFIG.ffnDim),
  };
  const command = `nice npx tsx models/pretrain/pretrain.ts ${argv.join(' ')}`.trim();
  if (task === 'sentiment') {
    const opts: MaskedPretrainOptions = {
      config,
      steps: num('steps', 3000),
      batchSize: num('batch', 64),
      lr: num('lr', 2e-3),
      seed: num('seed', 1),
      maskFraction: num('mask', 0.15),
      sentimentMaskFraction: num('sentimentMask', 0.5),
      log: (l) => console.log(l),
    };
    console.log(`pre-training (masked tokens + word polarity) on ${backend}: ${JSON.stringify({ ...opts, log: undefined })}`);
    const r = pretrainMasked(opts);
    console.log(`held-out masked-token accuracy ${(r.maskedAccuracy * 100).toFixed(1)}% after ${r.seconds.toFixed(0)} s`);
    await saveFoundation(out, r.config, r.weights, {
      method: `masked-token prediction (BERT-style, with SKEP's sentiment masking: ${Math.round((opts.maskFraction ?? 0.15) * 100)}% of word positions and ${Math.round((opts.sentimentMaskFraction ?? 0.5) * 100)}% of sentiment-word positions chosen; 80% [MASK], 10% random word, 10% unchanged) plus word-polarity tagging (each word's prior polarity in the AFINN lexicon, no negation: a token-level source task distinct from the sentence labels), on the unlabelled sentences of the pre-training pool (positions 0..${SENTIMENT_PRETRAIN_POOL - MASKED_HOLDOUT - 1} of the fixed corpus; ${SENTIMENT_PRETRAIN_POOL - MASKED_HOLDOUT}..${SENTIMENT_PRETRAIN_POOL - 1} score the masked-token accuracy); no label read`,
      steps: opts.steps,
      batchSize: opts.batchSize,
      lr: opts.lr,
      seed: opts.seed,
      backend,
      maskedAccuracy: r.maskedAccuracy,
      seconds: Math.round(r.seconds),
      command,
    });
    console.log(`saved ${out}`);
    return;
  }
  const opts: PretrainOptions = {
    config,
    steps: num('steps', 3000),
    batchSize: num('batch', 64),
    lr: num('lr', 1e-3),
    seed: num('seed', 1),
    shift: num('shift', 0),
    method: arg(argv, 'method') === 'contrastive' ? 'contrastive' : 'rotation',
    log: (l) => console.log(l),
  };
  console.log(`pre-training (${opts.method}) on ${backend}: ${JSON.stringify({ ...opts, log: undefined })}`);
  const r = pretrain(opts);
  console.log(
    opts.method === 'contrastive'
      ? `done after ${r.seconds.toFixed(0)} s`
      : `held-out rotation accuracy ${(r.rotationAccuracy * 100).toFixed(1)}% after ${r.seconds.toFixed(0)} s`,
  );
  await saveFoundation(out, r.config, r.weights, {
    method:
      opts.method === 'contrastive'
        ? `contrastive (SimCLR, NT-Xent, temperature ${TEMPERATURE}) with shifts of up to ±${Math.max(1, opts.shift)} px and 15% patch masking, self-supervised, on the unlabelled pre-training pool (positions 0..7499 of the fixed order)`
        : `rotation prediction (4-way) with random shifts of up to ±${opts.shift} px, self-supervised, on the unlabelled pre-training pool of the digits (positions 0..7499 of the fixed order; 7500..7999 score the rotation accuracy)`,
    shift: opts.shift,
    steps: opts.steps,
    batchSize: opts.batchSize,
    lr: opts.lr,
    seed: opts.seed,
    backend,
    rotationAccuracy: r.rotationAccuracy,
    seconds: Math.round(r.seconds),
    command,
  });
  console.log(`saved ${out}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
