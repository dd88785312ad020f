/** Split execution of the text model (MODEL.md §2): exact against the unsplit model, like the digits (models.split.test.ts). */
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_MODEL_CONFIG,
  ShapeError,
  createRandomFoundation,
  embed,
  evaluate,
  headGradients,
  initBackend,
  initHead,
  initLora,
  initOptimizerState,
  loadSentiment,
  splitStep,
  tfjsCompute,
  unsplitGradients,
  type Foundation,
  type ServerCompute,
  type ModelConfig,
  type TrainState,
} from '../models';
import { RandomStream } from '../util/random';
import { loraWithNonzeroB, maxRelativeError } from './gradientCheck';

const SENTIMENT: ModelConfig = { ...DEFAULT_MODEL_CONFIG, task: 'sentiment' };
const S = 14;
const b = 16;
let f: Foundation;
let data: ReturnType<typeof loadSentiment>;

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
  f = createRandomFoundation(SENTIMENT, RandomStream.fromSeed(7, 'foundation'));
  data = loadSentiment(200, 100);
});
afterAll(() => f.dispose());

function batch(start = 0): { x: Float32Array; y: Int32Array } {
  return { x: data.train.features.slice(start * S, (start + b) * S), y: data.train.labels.slice(start, start + b) };
}

describe('split step on the text model', () => {
  it('gives the LoRA and head gradients of the unsplit model to within 1e-5 relative', () => {
    // Prepare: LoRA with B ≠ 0, so every gradient path is exercised
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
    expect(activations.shape).toEqual([b, 15, 128]);
    expect(device.featureGrad.shape).toEqual([b, 15, 128]);
    expect(device.loss).toBeCloseTo(reference.loss, 5);
    expect(maxRelativeError(serverGrads!, reference.lora)).toBeLessThan(1e-5);
    expect(maxRelativeError(device.grads, reference.head)).toBeLessThan(1e-5);
  });

  it('embeds a token as its table row plus its position (the CLS row first)', () => {
    const { x } = batch();
    const a = embed(f, x, 1);
    const table = f.weights['embed/token']!.dataSync();
    const position = f.weights['embed/position']!.dataSync();
    const id = x[0] as number;
    for (let k = 0; k < 128; k++) expect(a.data[128 + k]).toBeCloseTo((table[id * 128 + k] as number) + (position[128 + k] as number), 6);
  });

  it('leaks no tensors over steps and scoring', () => {
    const lora = initLora(f, RandomStream.fromSeed(4, 'lora'));
    const head = initHead(f, RandomStream.fromSeed(4, 'head'));
    let s: TrainState = { lora, head, loraOpt: initOptimizerState(lora), headOpt: initOptimizerState(head) };
    const { x, y } = batch();
    s = splitStep(f, tfjsCompute(f), s, x, y, 1e-3);
    const afterOne = tf.memory().numTensors;
    for (let i = 1; i < 20; i++) s = splitStep(f, tfjsCompute(f), s, x, y, 1e-3);
    evaluate(f, s.lora, s.head, data.test, 50);
    expect(tf.memory().numTensors).toBe(afterOne);
  });

  it('rejects a value that is not a token id with a ShapeError', () => {
    const x = batch().x.slice();
    x[3] = 1e6;
    expect(() => embed(f, x, b)).toThrow(ShapeError);
    expect(() => embed(f, x, b)).toThrow(/value 3 is 1000000, not a token id in \[0, \d+\)/);
  });
});
