/**
 * The server's and evaluator's compute on ONNX Runtime (models/onnx/): forward features, LoRA
 * gradients and scores within 1e-5 relative of the TensorFlow.js reference and of the unsplit
 * model, for several shapes and both tasks; batched devices as alone; kept values rebuilt where
 * the thread holds none.
 */
import {
  DEFAULT_MODEL_CONFIG,
  createRandomFoundation,
  embed,
  evaluate,
  headGradients,
  initBackend,
  initHead,
  loadTaskData,
  unsplitGradients,
  type Cut,
  type Foundation,
  type HeadWeights,
  type LoraWeights,
  type ModelConfig,
} from '../models';
import type { Dataset } from '../models/data/dataset';
import { OrtCompute } from '../models/onnx/ortCompute';
import { RandomStream } from '../util/random';
import { isSharedBuffer, shareTensors } from '../util/sharedTensors';
import { loraWithNonzeroB, maxRelativeError, relativeError, tapeForward, tapeGradients } from './gradientCheck';

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
});

/** Rows [start, start + b) of `data`. */
function rows(data: Dataset, start: number, b: number): { x: Float32Array; y: Int32Array } {
  return { x: data.features.slice(start * data.featureSize, (start + b) * data.featureSize), y: data.labels.slice(start, start + b) };
}

interface Case {
  what: string;
  config: ModelConfig;
  batches: number[];
}

// Shapes: batch sizes (mixed within a group), tokens (digits 17, sentiment 15 or 21), heads, rank, targets, blocks.
const CASES: Case[] = [
  { what: 'digits, the default model, 3 devices of 16', config: DEFAULT_MODEL_CONFIG, batches: [16, 16, 16] },
  {
    what: 'digits, every target, 8 heads, rank 4, mixed batches',
    config: { ...DEFAULT_MODEL_CONFIG, heads: 8, loraRank: 4, loraTargets: ['query', 'key', 'value', 'output'] },
    batches: [5, 3, 5],
  },
  {
    what: 'digits, 3 blocks, key and output, 1 head, rank 16, d 64',
    config: { ...DEFAULT_MODEL_CONFIG, dModel: 64, blocks: 3, heads: 1, ffnDim: 96, loraRank: 16, loraTargets: ['key', 'output'] },
    batches: [2, 7],
  },
  { what: 'sentiment, the default model', config: { ...DEFAULT_MODEL_CONFIG, task: 'sentiment' }, batches: [16, 8] },
  {
    what: 'sentiment, 20 positions, value only, 2 heads, rank 2',
    config: { ...DEFAULT_MODEL_CONFIG, task: 'sentiment', sequenceLength: 20, heads: 2, loraRank: 2, loraTargets: ['value'] },
    batches: [4],
  },
];

describe.each(CASES)('ONNX Runtime against TensorFlow.js: $what', ({ config, batches }) => {
  let f: Foundation;
  let ort: OrtCompute;
  let data: { train: Dataset; test: Dataset };
  beforeAll(() => {
    f = createRandomFoundation(config, RandomStream.fromSeed(11, 'foundation'));
    ort = new OrtCompute(f);
    data = loadTaskData(f.config.task, 200, 100);
  });
  afterAll(() => {
    ort.dispose();
    f.dispose();
  });

  /** Device k's adapters, head, samples and activations. */
  function device(k: number): { lora: LoraWeights; head: HeadWeights; x: Float32Array; y: Int32Array; activations: Cut } {
    const b = batches[k] as number;
    const { x, y } = rows(data.train, 20 * k, b);
    return {
      lora: loraWithNonzeroB(f, 100 + k),
      head: initHead(f, RandomStream.fromSeed(200 + k, 'head')),
      x,
      y,
      activations: embed(f, x, b),
    };
  }

  it('gives each device the features and LoRA gradients of the tfjs reference and of the unsplit model, within 1e-5 relative', () => {
    // Prepare
    const devices = batches.map((_, k) => device(k));
    // Execute: one batched forward pass, the device side on tfjs, one batched backward pass
    const forward = ort.forward(
      devices.map((d) => ({ lora: d.lora, activations: d.activations })),
      { keys: devices.map((_, k) => `t/${k}`) },
    );
    const heads = devices.map((d, k) => headGradients(f, d.head, (forward[k] as { features: Cut }).features, d.y));
    const grads = ort.gradients(devices.map((d, k) => ({ lora: d.lora, cache: forward[k]!.cache, featureGrad: heads[k]!.featureGrad })));
    // Assert, device by device
    devices.forEach((d, k) => {
      const features = forward[k]!.features;
      expect(features.shape).toEqual([batches[k], f.config.tokens, f.config.dModel]);
      expect(relativeError(features.data, tapeForward(f, d.lora, d.activations).data)).toBeLessThan(1e-5);
      const tfjsGrads = tapeGradients(f, d.lora, d.activations, heads[k]!.featureGrad, 'reference');
      expect(maxRelativeError(grads[k] as LoraWeights, tfjsGrads)).toBeLessThan(1e-5);
      expect(maxRelativeError(grads[k] as LoraWeights, unsplitGradients(f, d.lora, d.head, d.x, d.y, 'reference').lora)).toBeLessThan(1e-5);
    });
    expect(ort.release('t/')).toBe(0); // every kept entry was taken by the backward pass
  });

  it('gives a device in a batch what it gets alone, and rebuilds what this thread does not hold', () => {
    const devices = batches.map((_, k) => device(k));
    const together = ort.forward(
      devices.map((d) => ({ lora: d.lora, activations: d.activations })),
      { keys: devices.map((_, k) => `g/${k}`) },
    );
    const alone = ort.forward([{ lora: devices[0]!.lora, activations: devices[0]!.activations }], { keys: ['a/0'] });
    expect(relativeError(together[0]!.features.data, alone[0]!.features.data)).toBeLessThan(1e-6);
    const featureGrad = headGradients(f, devices[0]!.head, alone[0]!.features, devices[0]!.y).featureGrad;
    const kept = ort.gradients([{ lora: devices[0]!.lora, cache: alone[0]!.cache, featureGrad }]);
    // The same cache under a key no thread holds: rebuilt from its activations.
    const rebuilt = ort.gradients([{ lora: devices[0]!.lora, cache: { ...alone[0]!.cache, key: 'elsewhere' }, featureGrad }]);
    expect(maxRelativeError(rebuilt[0] as LoraWeights, kept[0] as LoraWeights)).toBe(0);
    // Nothing kept without keys: the backward pass runs the forward pass again, with the same values.
    const stateless = ort.forward([{ lora: devices[0]!.lora, activations: devices[0]!.activations }])[0]!;
    expect(stateless.cache.key).toBeUndefined();
    expect(Buffer.from(stateless.features.data.buffer).equals(Buffer.from(alone[0]!.features.data.buffer))).toBe(true);
    expect(
      maxRelativeError(
        ort.gradients([{ lora: devices[0]!.lora, cache: stateless.cache, featureGrad }])[0] as LoraWeights,
        kept[0] as LoraWeights,
      ),
    ).toBe(0);
    expect(ort.release('g/')).toBe(devices.length);
  });

  it('scores the test set as the tfjs evaluator does', () => {
    const d = device(0);
    const want = evaluate(f, d.lora, d.head, data.test, 60);
    const got = ort.evaluate(d.lora, d.head, data.test, 60);
    expect(got.accuracy).toBe(want.accuracy);
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-5);
  });
});

describe('tensors in shared memory (a worker host that leaves its summaries to the runtime: util/sharedTensors.ts)', () => {
  afterEach(() => shareTensors(false));

  it("gives the same cuts, features and gradients bit for bit, in shared memory, a lone device's and a batch's", () => {
    // Arrange: one foundation; the same devices' steps with ordinary arrays, then in shared memory.
    const f = createRandomFoundation(DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(12, 'foundation'));
    const ort = new OrtCompute(f);
    const data = loadTaskData(f.config.task, 100, 10);
    const steps = () =>
      [[0], [1, 2]].map((group) => {
        const devices = group.map((k) => {
          const { x, y } = rows(data.train, 16 * k, 16);
          return {
            lora: loraWithNonzeroB(f, 300 + k),
            head: initHead(f, RandomStream.fromSeed(400 + k, 'head')),
            y,
            activations: embed(f, x, 16),
          };
        });
        const forward = ort.forward(devices.map((d) => ({ lora: d.lora, activations: d.activations })));
        const heads = devices.map((d, k) => headGradients(f, d.head, forward[k]!.features, d.y));
        const grads = ort.gradients(
          devices.map((d, k) => ({ lora: d.lora, cache: forward[k]!.cache, featureGrad: heads[k]!.featureGrad })),
        );
        return {
          cuts: devices.map((d) => d.activations.data),
          features: forward.map((o) => o.features.data),
          heads: heads.map((h) => h.featureGrad.data),
          grads,
        };
      });
    try {
      // Act
      const plain = steps();
      shareTensors(true);
      const shared = steps();
      // Assert
      expect(shared).toEqual(plain);
      for (const s of shared) for (const a of [...s.cuts, ...s.features, ...s.heads]) expect(isSharedBuffer(a.buffer)).toBe(true);
      for (const s of plain) for (const a of [...s.cuts, ...s.features, ...s.heads]) expect(isSharedBuffer(a.buffer)).toBe(false);
    } finally {
      ort.dispose();
      f.dispose();
    }
  });
});
