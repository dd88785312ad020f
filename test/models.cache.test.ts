/** The server's backward pass from kept intermediates (models/encoderBackward.ts through models/compute.ts): bit-identical to tfjs's tape, the cache plain data, leak-free. */
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_MODEL_CONFIG,
  ShapeError,
  backward,
  createRandomFoundation,
  embed,
  headStep,
  initBackend,
  initHead,
  initLora,
  initOptimizerState,
  loadDigits,
  tfjsCompute,
  type EncoderCache,
  type Foundation,
  type HeadWeights,
  type LoraWeights,
  type ModelConfig,
  type OptimizerState,
} from '../models';
import { RandomStream } from '../util/random';
import { tapeBackward, tapeForward } from './gradientCheck';

let digits: ReturnType<typeof loadDigits>;
const b = 16;

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
  digits = loadDigits(200, 100);
});

function batch(i: number): { x: Float32Array; y: Int32Array } {
  const start = (i * b) % 160;
  return { x: digits.train.features.slice(start * 784, (start + b) * 784), y: digits.train.labels.slice(start, start + b) };
}

/** LoRA with B ≠ 0, so every gradient path is exercised. */
function trainedLora(f: Foundation, seed: number): LoraWeights {
  const r = RandomStream.fromSeed(seed, 'lora');
  const lora = initLora(f, r);
  for (const k of Object.keys(lora)) if (k.endsWith('/B')) lora[k] = (lora[k] as Float32Array).map(() => 0.05 * r.normal());
  return lora;
}

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectBitIdentical(got: Readonly<Record<string, Float32Array>>, want: Readonly<Record<string, Float32Array>>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [k, w] of Object.entries(want)) {
    const g = got[k] as Float32Array;
    expect(g.length).toBe(w.length);
    if (!bytes(g).equals(bytes(w))) throw new Error(`'${k}' differs`);
  }
}

const CONFIGS: Array<[string, ModelConfig]> = [
  ['the default config (query, value)', DEFAULT_MODEL_CONFIG],
  ['LoRA on key and output', { ...DEFAULT_MODEL_CONFIG, loraTargets: ['key', 'output'], loraRank: 4 }],
];

describe.each(CONFIGS)('cached encoder pair, %s', (_, config) => {
  let f: Foundation;
  beforeAll(() => {
    f = createRandomFoundation(config, RandomStream.fromSeed(8, 'foundation'));
  });
  afterAll(() => f.dispose());

  it.each([
    ['kept under a key', true],
    ['not kept (the backward pass runs the forward pass again)', false],
  ])('gives bit-identical features, LoRA and Adam state to the tape over 5 steps, intermediates %s', (_w, keep) => {
    const compute = tfjsCompute(f);
    const head0 = initHead(f, RandomStream.fromSeed(2, 'head'));
    let lora = trainedLora(f, 1);
    let loraOpt: OptimizerState = initOptimizerState(lora);
    let head: HeadWeights = head0;
    let headOpt = initOptimizerState(head0);
    let cLora = lora;
    let cOpt = loraOpt;
    for (let i = 0; i < 5; i++) {
      const { x, y } = batch(i);
      const activations = embed(f, x, b);
      const features = tapeForward(f, lora, activations);
      const cached = compute.forward([{ lora: cLora, activations }], keep ? { keys: [`k${i}`] } : undefined)[0]!;
      expect(cached.features.shape).toEqual(features.shape);
      expect(bytes(cached.features.data).equals(bytes(features.data))).toBe(true);
      expect(cached.cache.key).toBe(keep ? `k${i}` : undefined);
      const h = headStep(f, head, headOpt, features, y, 1e-2);
      const old = tapeBackward(f, lora, loraOpt, activations, h.featureGrad, 1e-2);
      const neu = backward(compute, [{ lora: cLora, loraOpt: cOpt, cache: cached.cache, featureGrad: h.featureGrad, lr: 1e-2 }])[0]!;
      expectBitIdentical(neu.lora, old.lora);
      expectBitIdentical(neu.loraOpt.m, old.loraOpt.m);
      expectBitIdentical(neu.loraOpt.v, old.loraOpt.v);
      expect(neu.loraOpt.step).toBe(old.loraOpt.step);
      ({ lora, loraOpt } = old);
      ({ lora: cLora, loraOpt: cOpt } = neu);
      ({ head, headOpt } = h);
    }
    expect(loraOpt.step).toBe(5);
    expect(compute.release('')).toBe(0); // every kept entry was taken by its backward pass
  });

  it('keeps a plain-data cache: a structured clone handed to another compute (which holds no such key) gives the same update, and the inputs are not mutated', () => {
    const here = tfjsCompute(f);
    const elsewhere = tfjsCompute(f);
    const lora = trainedLora(f, 3);
    const loraCopy = Object.fromEntries(Object.entries(lora).map(([k, v]) => [k, v.slice()]));
    const { x, y } = batch(0);
    const activations = embed(f, x, b);
    const { features, cache } = here.forward([{ lora, activations }], { keys: ['s/0/d'] })[0]!;
    const cacheCopy: EncoderCache = structuredClone(cache);
    const h = headStep(
      f,
      initHead(f, RandomStream.fromSeed(3, 'head')),
      initOptimizerState(initHead(f, RandomStream.fromSeed(3, 'head'))),
      features,
      y,
      1e-2,
    );
    const one = backward(here, [{ lora, loraOpt: initOptimizerState(lora), cache, featureGrad: h.featureGrad, lr: 1e-2 }])[0]!;
    const two = backward(elsewhere, [
      { lora, loraOpt: initOptimizerState(lora), cache: cacheCopy, featureGrad: h.featureGrad, lr: 1e-2 },
    ])[0]!;
    expectBitIdentical(two.lora, one.lora);
    expect(lora).toEqual(loraCopy);
    expect(bytes(cacheCopy.activations.data).equals(bytes(activations.data))).toBe(true);
  });

  it('leaks no tensors: the count does not grow over 20 steps', () => {
    const compute = tfjsCompute(f);
    let lora = trainedLora(f, 4);
    let loraOpt = initOptimizerState(lora);
    const head = initHead(f, RandomStream.fromSeed(4, 'head'));
    const headOpt = initOptimizerState(head);
    const step = (i: number): void => {
      const { x, y } = batch(i);
      const { features, cache } = compute.forward([{ lora, activations: embed(f, x, b) }], { keys: ['k'] })[0]!;
      const h = headStep(f, head, headOpt, features, y, 1e-3);
      ({ lora, loraOpt } = backward(compute, [{ lora, loraOpt, cache, featureGrad: h.featureGrad, lr: 1e-3 }])[0]!);
    };
    const before = tf.memory().numTensors;
    step(0);
    const afterOne = tf.memory().numTensors;
    for (let i = 1; i < 20; i++) step(i);
    expect(tf.memory().numTensors).toBe(afterOne);
    expect(afterOne).toBe(before);
  });
});

describe('the backward pass', () => {
  it('rejects a gradient that does not fit the cache with a ShapeError', () => {
    const f = createRandomFoundation(DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(8, 'foundation'));
    try {
      const compute = tfjsCompute(f);
      const lora = initLora(f, RandomStream.fromSeed(6, 'lora'));
      const { cache } = compute.forward([{ lora, activations: embed(f, batch(0).x, b) }], { keys: ['k'] })[0]!;
      const grad8 = { data: new Float32Array(8 * 17 * 128), shape: [8, 17, 128] };
      expect(() => compute.gradients([{ lora, cache, featureGrad: grad8 }])).toThrow(ShapeError);
      expect(() => compute.gradients([{ lora, cache, featureGrad: grad8 }])).toThrow(/a cache of 16 rows but 8 gradient rows/);
      compute.release('');
    } finally {
      f.dispose();
    }
  });
});
