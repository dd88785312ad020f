/** Multi-adapter batched encoder: equals per-device execution to within 1e-5 relative. */
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_MODEL_CONFIG,
  ShapeError,
  batchedEncoderBackward,
  batchedEncoderForward,
  batchedEncoderGradients,
  createRandomFoundation,
  embed,
  encoderBackward,
  encoderBackwardCached,
  encoderBackwardCachedMany,
  encoderForward,
  encoderForwardCached,
  encoderForwardCachedMany,
  encoderGradients,
  headGradients,
  initBackend,
  initHead,
  initOptimizerState,
  KeptTensors,
  loadDigits,
  type Cut,
  type Foundation,
  type LoraWeights,
} from '../models';
import { RandomStream } from '../runtime/random';
import { loraWithNonzeroB, maxRelativeError, relativeError } from './gradientCheck';

let f: Foundation;
let digits: ReturnType<typeof loadDigits>;

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
  f = createRandomFoundation(DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(7, 'foundation'));
  digits = loadDigits(300, 50);
});
afterAll(() => f.dispose());

interface Device {
  lora: LoraWeights;
  activations: Cut;
  featureGrad: Cut;
}

/** Device k: its own LoRA copy, activations of `b` samples and the cut gradient its head sends back. */
function devices(g: Foundation, sizes: readonly number[]): Device[] {
  let start = 0;
  return sizes.map((b, k) => {
    const x = digits.train.features.slice(start * 784, (start + b) * 784);
    const y = digits.train.labels.slice(start, start + b);
    start += b;
    const lora = loraWithNonzeroB(g, 10 + k); // B ≠ 0 and different for every device, so each adapter acts on its own rows
    const activations = embed(g, x, b);
    const head = initHead(g, RandomStream.fromSeed(20 + k, 'head'));
    const featureGrad = headGradients(g, head, encoderForward(g, lora, activations), y).featureGrad;
    return { lora, activations, featureGrad };
  });
}

describe.each([
  ['equal batches (stacked adapters, one batched product)', [16, 16, 16, 16]],
  ['unequal batches (adapters on row slices)', [16, 5, 9]],
  ['a single device', [16]],
])('batched encoder, %s', (_name, sizes) => {
  it('forward equals encoderForward per device to within 1e-5 relative', () => {
    // Prepare
    const ds = devices(f, sizes);
    // Execute
    const batched = batchedEncoderForward(f, ds.map((d) => ({ lora: d.lora, activations: d.activations })));
    // Assert
    expect(batched).toHaveLength(ds.length);
    ds.forEach((d, k) => {
      const alone = encoderForward(f, d.lora, d.activations);
      expect(batched[k]!.shape).toEqual(alone.shape);
      expect(relativeError(batched[k]!.data, alone.data)).toBeLessThan(1e-5);
    });
  });

  it('gradients equal encoderGradients per device to within 1e-5 relative', () => {
    const ds = devices(f, sizes);
    const batched = batchedEncoderGradients(f, ds);
    ds.forEach((d, k) => expect(maxRelativeError(batched[k]!, encoderGradients(f, d.lora, d.activations, d.featureGrad))).toBeLessThan(1e-5));
  });

  it('backward (gradients and Adam step) equals encoderBackward per device to within 1e-5 relative', () => {
    const ds = devices(f, sizes);
    const items = ds.map((d) => ({ ...d, loraOpt: initOptimizerState(d.lora), lr: 1e-3 }));
    const batched = batchedEncoderBackward(f, items);
    items.forEach((it, k) => {
      const alone = encoderBackward(f, it.lora, it.loraOpt, it.activations, it.featureGrad, it.lr);
      expect(maxRelativeError(batched[k]!.lora, alone.lora)).toBeLessThan(1e-5);
      expect(batched[k]!.loraOpt.step).toBe(1);
    });
  });
});

describe('batched cached pair (what the server shards run)', () => {
  it('gives each device its own features and cache, and a backward pass over another grouping equals per-device execution', () => {
    // Prepare: five devices; the forward pass batches {0,1,2} and {3,4}, the backward pass {4,1,3} and {0,2}.
    const ds = devices(f, [16, 16, 9, 16, 4]);
    const items = ds.map((d) => ({ ...d, loraOpt: initOptimizerState(d.lora), lr: 1e-3 }));
    // Execute
    const forward = [...encoderForwardCachedMany(f, items.slice(0, 3)), ...encoderForwardCachedMany(f, items.slice(3))];
    const order = [[4, 1, 3], [0, 2]];
    const backward = new Map<number, ReturnType<typeof encoderBackwardCached>>();
    for (const group of order) {
      const out = encoderBackwardCachedMany(f, group.map((k) => ({ ...items[k]!, cache: forward[k]!.cache })));
      group.forEach((k, i) => backward.set(k, out[i]!));
    }
    // Assert
    items.forEach((it, k) => {
      const alone = encoderForwardCached(f, it.lora, it.activations);
      expect(forward[k]!.features.shape).toEqual(alone.features.shape);
      expect(relativeError(forward[k]!.features.data, alone.features.data)).toBeLessThan(1e-5);
      expect(forward[k]!.cache.batchSize).toBe(alone.cache.batchSize);
      expect(Object.keys(forward[k]!.cache.values!).sort()).toEqual(Object.keys(alone.cache.values!).sort());
      const step = encoderBackwardCached(f, it.lora, it.loraOpt, alone.cache, it.featureGrad, it.lr);
      expect(maxRelativeError(backward.get(k)!.lora, step.lora)).toBeLessThan(1e-5);
      expect(maxRelativeError(backward.get(k)!.loraOpt.m, step.loraOpt.m)).toBeLessThan(1e-5);
      // Stronger than the 1e-5 asked for: the frozen products are row-independent, so on wasm the
      // batched passes give each device exactly its own result (what keeps the simulation's log
      // the same with batching on or off).
      expect(Buffer.from(forward[k]!.features.data.buffer).equals(Buffer.from(alone.features.data.buffer))).toBe(true);
      for (const name of Object.keys(step.lora)) expect(Buffer.from(backward.get(k)!.lora[name]!.buffer).equals(Buffer.from(step.lora[name]!.buffer))).toBe(true);
    });
  });

  it('keeps the intermediates as tensors under a key: same update bit for bit, freed when taken, rebuilt when the key is gone', () => {
    // Prepare
    const ds = devices(f, [16, 9, 16]);
    const items = ds.map((d) => ({ ...d, loraOpt: initOptimizerState(d.lora), lr: 1e-3 }));
    const asData = encoderForwardCachedMany(f, items);
    const want = encoderBackwardCachedMany(f, items.map((it, k) => ({ ...it, cache: asData[k]!.cache })));
    const tensorsBefore = tf.memory().numTensors;
    // Execute: kept under keys; device 1's key is released before the backward pass (as on another thread).
    const store = new KeptTensors();
    const kept = encoderForwardCachedMany(f, items, { store, keys: ['s/0/a', 's/0/b', 's/0/c'] });
    expect(store.size).toBe(3);
    expect(kept.map((r) => r.cache.values)).toEqual([undefined, undefined, undefined]);
    expect(store.release('s/0/b')).toBe(1);
    const got = encoderBackwardCachedMany(f, items.map((it, k) => ({ ...it, cache: kept[k]!.cache })), store);
    // Assert
    kept.forEach((r, k) => expect(Buffer.from(r.features.data.buffer).equals(Buffer.from(asData[k]!.features.data.buffer))).toBe(true));
    got.forEach((g, k) => {
      for (const name of Object.keys(want[k]!.lora)) expect(Buffer.from(g.lora[name]!.buffer).equals(Buffer.from(want[k]!.lora[name]!.buffer))).toBe(true);
    });
    expect(store.size).toBe(0);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('names the device whose cache does not fit its gradient', () => {
    const ds = devices(f, [8, 8]);
    const fwd = encoderForwardCachedMany(f, ds);
    const broken = { ...fwd[1]!.cache, values: { ...fwd[1]!.cache.values, 'block1/ffn1': { data: new Float32Array(3), shape: [3] } } };
    const items = ds.map((d, k) => ({ ...d, cache: k === 1 ? broken : fwd[k]!.cache, loraOpt: initOptimizerState(d.lora), lr: 1e-3 }));
    expect(() => encoderBackwardCachedMany(f, items)).toThrow(/device 1 cache entry 'block1\/ffn1'/);
  });
});

describe('batched encoder', () => {
  it('works on other LoRA targets and ranks (key and output, rank 4)', () => {
    const g = createRandomFoundation({ ...DEFAULT_MODEL_CONFIG, loraTargets: ['key', 'output'], loraRank: 4 }, RandomStream.fromSeed(8, 'foundation'));
    const ds = devices(g, [8, 8, 8]);
    const fwd = batchedEncoderForward(g, ds);
    const grads = batchedEncoderGradients(g, ds);
    ds.forEach((d, k) => {
      expect(relativeError(fwd[k]!.data, encoderForward(g, d.lora, d.activations).data)).toBeLessThan(1e-5);
      expect(maxRelativeError(grads[k]!, encoderGradients(g, d.lora, d.activations, d.featureGrad))).toBeLessThan(1e-5);
    });
    g.dispose();
  });

  it('leaks no tensors and does not mutate its inputs', () => {
    const ds = devices(f, [16, 16, 7]);
    const copies = ds.map((d) => ({ a: d.activations.data.slice(), g: d.featureGrad.data.slice(), l: Object.fromEntries(Object.entries(d.lora).map(([k, v]) => [k, v.slice()])) }));
    batchedEncoderForward(f, ds);
    batchedEncoderGradients(f, ds);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      batchedEncoderForward(f, ds);
      batchedEncoderGradients(f, ds);
    }
    expect(tf.memory().numTensors).toBe(before);
    ds.forEach((d, k) => {
      expect(d.activations.data).toEqual(copies[k]!.a);
      expect(d.featureGrad.data).toEqual(copies[k]!.g);
      for (const [n, v] of Object.entries(d.lora)) expect(v).toEqual(copies[k]!.l[n]);
    });
  });

  it('rejects an empty batch and mis-shaped cuts with a ShapeError naming the device', () => {
    const ds = devices(f, [4, 4]);
    expect(() => batchedEncoderForward(f, [])).toThrow(ShapeError);
    const bad = { ...ds[1]!, activations: { data: ds[1]!.activations.data, shape: [4, 16, 128] } };
    expect(() => batchedEncoderForward(f, [ds[0]!, bad])).toThrow(/device 1 activations/);
    const short = { ...ds[1]!, featureGrad: { data: ds[0]!.featureGrad.data.subarray(0, 3 * 17 * 128), shape: [3, 17, 128] } };
    expect(() => batchedEncoderGradients(f, [ds[0]!, short])).toThrow(/device 1/);
  });
});
