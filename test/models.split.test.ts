/** Split execution (MODEL.md §2): exact against the unsplit model, deterministic, leak-free. */
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_MODEL_CONFIG,
  ShapeError,
  createRandomFoundation,
  embed,
  backward,
  evaluate,
  headGradients,
  headStep,
  initBackend,
  initHead,
  initLora,
  initOptimizerState,
  loadDigits,
  splitStep,
  tfjsCompute,
  unsplitGradients,
  type Foundation,
  type ServerCompute,
  type TrainState,
} from '../models';
import { RandomStream } from '../util/random';
import { loraWithNonzeroB, maxRelativeError } from './gradientCheck';

let f: Foundation;
let digits: ReturnType<typeof loadDigits>;
const b = 16;

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
  f = createRandomFoundation(DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(7, 'foundation'));
  digits = loadDigits(200, 100);
});
afterAll(() => f.dispose());

function batch(start = 0): { x: Float32Array; y: Int32Array } {
  return { x: digits.train.features.slice(start * 784, (start + b) * 784), y: digits.train.labels.slice(start, start + b) };
}

describe('split step', () => {
  it('gives the LoRA and head gradients of the unsplit model to within 1e-5 relative', () => {
    // Prepare
    const lora = loraWithNonzeroB(f, 1);
    const head = initHead(f, RandomStream.fromSeed(2, 'head'));
    const { x, y } = batch();
    // Execute: device → server → device → server, every hop a message of plain data
    const activations = embed(f, x, b);
    const compute: ServerCompute = tfjsCompute(f);
    const { features, cache } = compute.forward([{ lora, activations }], { keys: ['k'] })[0]!;
    const device = headGradients(f, head, features, y);
    const [serverGrads] = compute.gradients([{ lora, cache, featureGrad: device.featureGrad }]);
    const reference = unsplitGradients(f, lora, head, x, y, 'reference');
    // Assert
    expect(activations.shape).toEqual([b, 17, 128]);
    expect(features.data).toBeInstanceOf(Float32Array);
    expect(device.loss).toBeCloseTo(reference.loss, 5);
    expect(maxRelativeError(serverGrads!, reference.lora)).toBeLessThan(1e-5);
    expect(maxRelativeError(device.grads, reference.head)).toBeLessThan(1e-5);
  });

  it('hand-written gradients equal tfjs autodiff on other LoRA targets too', () => {
    const g = createRandomFoundation(
      { ...DEFAULT_MODEL_CONFIG, loraTargets: ['key', 'output'], loraRank: 4 },
      RandomStream.fromSeed(8, 'foundation'),
    );
    const lora = initLora(g, RandomStream.fromSeed(1, 'lora'));
    for (const k of Object.keys(lora)) if (k.endsWith('/B')) lora[k] = (lora[k] as Float32Array).map((_, i) => 0.01 * Math.sin(i));
    expect(Object.keys(lora)).toContain('block1/output/A');
    const head = initHead(g, RandomStream.fromSeed(2, 'head'));
    const { x, y } = batch();
    const fast = unsplitGradients(g, lora, head, x, y, 'fast');
    const ref = unsplitGradients(g, lora, head, x, y, 'reference');
    expect(maxRelativeError(fast.lora, ref.lora)).toBeLessThan(1e-5);
    g.dispose();
  });

  it('is deterministic: the same inputs give bit-identical outputs', () => {
    const run = (): TrainState & { loss: number } => {
      const lora = initLora(f, RandomStream.fromSeed(3, 'lora'));
      const head = initHead(f, RandomStream.fromSeed(3, 'head'));
      let s: TrainState = { lora, head, loraOpt: initOptimizerState(lora), headOpt: initOptimizerState(head) };
      let loss = 0;
      for (let i = 0; i < 3; i++) {
        const { x, y } = batch(i * b);
        const next = splitStep(f, tfjsCompute(f), s, x, y, 1e-3);
        loss = next.loss;
        s = next;
      }
      return { ...s, loss };
    };
    const one = run();
    const two = run();
    expect(two.loss).toBe(one.loss);
    for (const k of Object.keys(one.lora))
      expect(Buffer.from((two.lora[k] as Float32Array).buffer).equals(Buffer.from((one.lora[k] as Float32Array).buffer))).toBe(true);
    for (const k of Object.keys(one.head)) expect(Array.from(two.head[k] as Float32Array)).toEqual(Array.from(one.head[k] as Float32Array));
  });

  it('leaks no tensors: the count after 100 steps equals the count after 1', () => {
    const lora = initLora(f, RandomStream.fromSeed(4, 'lora'));
    const head = initHead(f, RandomStream.fromSeed(4, 'head'));
    let s: TrainState = { lora, head, loraOpt: initOptimizerState(lora), headOpt: initOptimizerState(head) };
    const { x, y } = batch();
    const before = tf.memory().numTensors;
    s = splitStep(f, tfjsCompute(f), s, x, y, 1e-3);
    const afterOne = tf.memory().numTensors;
    for (let i = 1; i < 100; i++) s = splitStep(f, tfjsCompute(f), s, x, y, 1e-3);
    evaluate(f, s.lora, s.head, digits.test, 50);
    expect(tf.memory().numTensors).toBe(afterOne);
    expect(afterOne).toBe(before);
  });

  it('does not mutate its inputs (pure functions on typed arrays)', () => {
    const lora = loraWithNonzeroB(f, 5);
    const head = initHead(f, RandomStream.fromSeed(5, 'head'));
    const loraCopy = Object.fromEntries(Object.entries(lora).map(([k, v]) => [k, v.slice()]));
    const headCopy = Object.fromEntries(Object.entries(head).map(([k, v]) => [k, v.slice()]));
    const { x, y } = batch();
    const compute = tfjsCompute(f);
    const a = embed(f, x, b);
    const h = compute.forward([{ lora, activations: a }])[0]!;
    const d = headStep(f, head, initOptimizerState(head), h.features, y, 1e-2);
    const s = backward(compute, [{ lora, loraOpt: initOptimizerState(lora), cache: h.cache, featureGrad: d.featureGrad, lr: 1e-2 }])[0]!;
    expect(lora).toEqual(loraCopy);
    expect(head).toEqual(headCopy);
    expect(s.loraOpt.step).toBe(1);
    expect(s.lora['block0/query/B']).not.toEqual(lora['block0/query/B']);
  });

  it('rejects a cut of the wrong shape with a ShapeError', () => {
    const lora = initLora(f, RandomStream.fromSeed(6, 'lora'));
    const compute = tfjsCompute(f);
    expect(() => compute.forward([{ lora, activations: { data: new Float32Array(10), shape: [1, 17, 128] } }])).toThrow(ShapeError);
    expect(() => compute.forward([{ lora, activations: { data: new Float32Array(16 * 16 * 128), shape: [16, 16, 128] } }])).toThrow(
      /expected shape \[b, 17, 128\]/,
    );
  });
});
