/**
 * Pre-trains the sentiment foundation model (token embedding + encoder) on the unlabelled
 * sentences of the pre-training pool (data/sentiment.ts: positions [0, SENTIMENT_PRETRAIN_POOL) of
 * the fixed corpus; only token ids are read, never a sentence's label; the test split is never
 * seen), with two objectives summed, after SKEP (Tian et al. 2020, "SKEP: Sentiment Knowledge
 * Enhanced Pre-training"):
 * - masked-token prediction (Devlin et al. 2019, BERT's masked language model), self-supervised;
 * - word-polarity tagging: at every word position, the word's prior polarity in the AFINN lexicon
 *   (neutral, positive, negative; negation ignored). A token-level source task, distinct from the
 *   fine-tuning task (the sign of a whole sentence's score after negation). Masked-token prediction
 *   alone taught the encoder next to nothing about polarity here: within a polarity the generator
 *   picks words uniformly, so polarity is a sliver of what it predicts (fine-tuning from it stayed
 *   at chance after 150 steps, as did a random encoder; with the tagging, 87% after 600 steps of
 *   pre-training).
 *
 * Masking: in each sentence a word is chosen with probability 0.15, a sentiment word (one of the
 * lexicon's) with 0.5, at least one per sentence (SKEP's sentiment masking: the few sentiment words would otherwise be a
 * small share of what the model predicts). Of the chosen positions 80% become [MASK], 10% a
 * random word and 10% stay as they are; the model predicts the original token from the encoder's
 * output there (LayerNorm and a dense layer over the vocabulary, thrown away afterwards).
 * The last MASKED_HOLDOUT sentences of the pool are kept out of training to score the masked-token
 * accuracy. Run through models/pretrain/pretrain.ts (`--task sentiment`).
 */
import * as tf from '@tensorflow/tfjs';
import { resolveConfig, type ModelConfig, type ResolvedModelConfig } from '../config';
import { layerNorm, trainableDense } from '../ops';
import { embedTokens, encoderApply } from '../transformer';
import { SENTIMENT_PRETRAIN_POOL, pretrainSentences } from '../data/sentiment';
import { MASK_ID, PAD_ID, SPECIAL_TOKENS, sentimentVocabulary } from '../data/sentimentVocabulary';
import { RandomStream } from '../../util/random';
import { warmupCosineLr } from '../optimizer';
import { pretrainVariables, releaseFrozenWeights } from './pretrainVariables';

/** Word polarity classes of the tagging head: neutral, positive, negative. */
const POLARITIES = 3;

/** Sentences at the end of the pool that score the masked-token accuracy, never trained on. */
export const MASKED_HOLDOUT = 500;

export interface MaskedPretrainOptions {
  config: ModelConfig;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Share of word positions chosen for prediction (BERT: 0.15). */
  maskFraction?: number;
  /** Share of sentiment-word positions chosen (SKEP's sentiment masking), default 0.5. */
  sentimentMaskFraction?: number;
  log?: (line: string) => void;
}

export interface MaskedPretrainResult {
  config: ResolvedModelConfig;
  weights: Record<string, Float32Array>;
  /** Masked-token accuracy on the held-out end of the pool, after training (masks seeded). */
  maskedAccuracy: number;
  seconds: number;
}

interface MaskedBatch {
  /** Input ids [n·S], some replaced. */
  ids: Int32Array;
  /** Original id per encoder row [n·L] (row 0 of each sentence is CLS), 0 where not predicted. */
  targets: Int32Array;
  /** 1 on the rows predicted, else 0 [n·L]. */
  weights: Float32Array;
  /** Lexicon polarity of the original word per row [n·L] (0 neutral, 1 positive, 2 negative). */
  polarity: Int32Array;
  /** 1 on the word rows (not CLS, not padding), else 0 [n·L]. */
  words: Float32Array;
}

/** Chooses and corrupts the positions to predict in sentences `rows` of `pool` (ids, S per row). */
function maskBatch(
  pool: Float32Array,
  rows: readonly number[],
  c: ResolvedModelConfig,
  vocabSize: number,
  fraction: number,
  sentimentFraction: number,
  polarityOf: Int32Array,
  random: RandomStream,
): MaskedBatch {
  const S = c.patches;
  const L = c.tokens;
  const n = rows.length;
  const ids = new Int32Array(n * S);
  const targets = new Int32Array(n * L);
  const weights = new Float32Array(n * L);
  const polarity = new Int32Array(n * L);
  const words = new Float32Array(n * L);
  const firstWord = SPECIAL_TOKENS.length;
  rows.forEach((row, i) => {
    let length = 0;
    for (let j = 0; j < S; j++) {
      const id = pool[row * S + j] as number;
      ids[i * S + j] = id;
      if (id !== PAD_ID) length = j + 1;
    }
    for (let j = 0; j < length; j++) {
      polarity[i * L + j + 1] = polarityOf[ids[i * S + j] as number] as number;
      words[i * L + j + 1] = 1;
    }
    const chosen: number[] = [];
    for (let j = 0; j < length; j++)
      if (random.uniform() < ((polarityOf[ids[i * S + j] as number] as number) > 0 ? sentimentFraction : fraction)) chosen.push(j);
    if (chosen.length === 0) chosen.push(random.int(length));
    for (const j of chosen) {
      targets[i * L + j + 1] = ids[i * S + j] as number;
      weights[i * L + j + 1] = 1;
      const u = random.uniform();
      if (u < 0.8) ids[i * S + j] = MASK_ID;
      else if (u < 0.9) ids[i * S + j] = firstWord + random.int(vocabSize - firstWord);
    }
  });
  return { ids, targets, weights, polarity, words };
}

/** Masked-token pre-training; returns the embedding and encoder weights. */
export function pretrainMasked(opts: MaskedPretrainOptions): MaskedPretrainResult {
  const c = resolveConfig(opts.config);
  if (c.task.kind !== 'tokens') throw new Error(`masked-token pre-training needs a token task, got model.task = '${c.task.name}'`);
  const vocabSize = c.task.vocabSize;
  const fraction = opts.maskFraction ?? 0.15;
  const sentimentFraction = opts.sentimentMaskFraction ?? 0.5;
  const vocab = sentimentVocabulary();
  // The lexicon's prior polarity of each token (no negation): the tagging target.
  const polarityOf = Int32Array.from(vocab.tokens, (t) => {
    const score = vocab.scores.get(t) ?? 0;
    return score > 0 ? 1 : score < 0 ? 2 : 0;
  });
  const random = RandomStream.fromSeed(opts.seed, 'pretrain');
  const headShapes: Record<string, number[]> = {
    'mlm/ln/gamma': [c.dModel],
    'mlm/ln/beta': [c.dModel],
    'mlm/dense/kernel': [c.dModel, vocabSize],
    'mlm/dense/bias': [vocabSize],
    'tag/dense/kernel': [c.dModel, POLARITIES],
    'tag/dense/bias': [POLARITIES],
  };
  // One Glorot limit, that of the token head, for both kernels (the committed checkpoint was made so).
  const vars = pretrainVariables(c, random, headShapes, Math.sqrt(6 / (c.dModel + vocabSize)));
  const pool = pretrainSentences(SENTIMENT_PRETRAIN_POOL, c.patches);
  const count = pool.length / c.patches;
  const trainPool = count - MASKED_HOLDOUT;
  /** Token logits [n·L, V] and polarity logits [n·L, 3] of every encoder row. */
  const heads = (ids: Int32Array, n: number): { tokens: tf.Tensor2D; polarity: tf.Tensor2D } => {
    const x = embedTokens(c, vars, tf.tensor1d(ids, 'int32'), n, true);
    const h = tf.reshape(encoderApply(c, { weights: vars, mode: 'trainable' }, x, n), [n * c.tokens, c.dModel]);
    const normed = layerNorm(h, vars['mlm/ln/gamma'] as tf.Tensor, vars['mlm/ln/beta'] as tf.Tensor) as tf.Tensor2D;
    return {
      tokens: trainableDense(normed, vars['mlm/dense/kernel'] as tf.Tensor2D, vars['mlm/dense/bias'] as tf.Tensor1D),
      polarity: trainableDense(normed, vars['tag/dense/kernel'] as tf.Tensor2D, vars['tag/dense/bias'] as tf.Tensor1D),
    };
  };
  /** Mean cross-entropy of `logits` against `targets` over the rows where `mask` is 1. */
  const maskedCrossEntropy = (logits: tf.Tensor2D, targets: Int32Array, mask: Float32Array, classes: number): tf.Scalar => {
    const picked = tf.sum(tf.mul(tf.oneHot(tf.tensor1d(targets, 'int32'), classes), tf.logSoftmax(logits)), -1);
    const w = tf.tensor1d(mask);
    return tf.neg(tf.div(tf.sum(tf.mul(picked, w)), tf.sum(w))) as tf.Scalar;
  };
  const optimizer = tf.train.adam(opts.lr);
  const draw = random.fork('batches');
  const b = opts.batchSize;
  const start = Date.now();
  let recentLoss = 0;
  for (let step = 1; step <= opts.steps; step++) {
    const rows = Array.from({ length: b }, () => draw.int(trainPool));
    const m = maskBatch(pool, rows, c, vocabSize, fraction, sentimentFraction, polarityOf, draw);
    const lr = warmupCosineLr(step, opts.steps, opts.lr);
    (optimizer as unknown as { learningRate: number }).learningRate = lr; // read by AdamOptimizer on every step
    const loss = optimizer.minimize(
      () =>
        tf.tidy(() => {
          const out = heads(m.ids, b);
          return tf.add(
            maskedCrossEntropy(out.tokens, m.targets, m.weights, vocabSize),
            maskedCrossEntropy(out.polarity, m.polarity, m.words, POLARITIES),
          ) as tf.Scalar;
        }),
      true,
    );
    recentLoss += (loss?.dataSync()[0] as number) ?? 0;
    loss?.dispose();
    if (step % 100 === 0) {
      opts.log?.(
        `step ${step}/${opts.steps} masked-token + polarity loss ${(recentLoss / 100).toFixed(4)} lr ${lr.toExponential(2)} ${((Date.now() - start) / 1000).toFixed(0)} s`,
      );
      recentLoss = 0;
    }
  }
  // Held-out masked-token accuracy.
  const evalRandom = random.fork('eval');
  let correct = 0;
  let predicted = 0;
  for (let s0 = 0; s0 < MASKED_HOLDOUT; s0 += 250) {
    const rows = Array.from({ length: Math.min(250, MASKED_HOLDOUT - s0) }, (_, i) => trainPool + s0 + i);
    const m = maskBatch(pool, rows, c, vocabSize, fraction, sentimentFraction, polarityOf, evalRandom);
    const best = tf.tidy(() => tf.argMax(heads(m.ids, rows.length).tokens, -1).dataSync());
    for (let r = 0; r < m.weights.length; r++)
      if (m.weights[r] === 1) {
        predicted++;
        if (best[r] === m.targets[r]) correct++;
      }
  }
  const weights = releaseFrozenWeights(c, vars);
  optimizer.dispose();
  return { config: c, weights, maskedAccuracy: predicted > 0 ? correct / predicted : 0, seconds: (Date.now() - start) / 1000 };
}
