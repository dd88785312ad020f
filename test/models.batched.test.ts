/** Multi-adapter batching, an option of the server's encoder API (models/compute.ts): several devices in one pass equal per-device execution to within 1e-5 relative. */
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_MODEL_CONFIG,
  ShapeError,
  backward,
  createRandomFoundation,
  embed,
  headGradients,
  initBackend,
  initHead,
  initOptimizerState,
  loadDigits,
  tfjsCompute,
  type Cut,
  type Foundation,
  type LoraWeights,
  type ServerCompute,
} from '../models';
import { RandomStream } from '../util/random';
import { loraWithNonzeroB, maxRelativeError, relativeError, tapeBackward, tapeForward, tapeGradients } from './gradientCheck';

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
    const featureGrad = headGradients(g, head, tapeForward(g, lora, activations), y).featureGrad;
    return { lora, activations, featureGrad };
  });
}

/** Each device's features and caches from one pass over all of `ds` (intermediates kept under keys when `keys`). */
function forwardAll(compute: ServerCompute, ds: readonly Device[], keys?: readonly string[]) {
  return compute.forward(
    ds.map((d) => ({ lora: d.lora, activations: d.activations })),
    keys ? { keys } : undefined,
  );
}

describe.each([
  ['equal batches (stacked adapters, one batched product)', [16, 16, 16, 16]],
  ['unequal batches (adapters on row slices)', [16, 5, 9]],
  ['a single device', [16]],
])('batched encoder, %s', (_name, sizes) => {
  it('forward equals the tape per device to within 1e-5 relative', () => {
    // Prepare
    const ds = devices(f, sizes);
    // Execute
    const batched = forwardAll(tfjsCompute(f), ds);
    // Assert
    expect(batched).toHaveLength(ds.length);
    ds.forEach((d, k) => {
      const alone = tapeForward(f, d.lora, d.activations);
      expect(batched[k]!.features.shape).toEqual(alone.shape);
      expect(relativeError(batched[k]!.features.data, alone.data)).toBeLessThan(1e-5);
    });
  });

  it.each([
    ['kept', true],
    ['rebuilt', false],
  ])('gradients (intermediates %s) equal the tape per device to within 1e-5 relative', (_w, keep) => {
    const compute = tfjsCompute(f);
    const ds = devices(f, sizes);
    const fwd = forwardAll(compute, ds, keep ? ds.map((_, k) => String(k)) : undefined);
    const batched = compute.gradients(ds.map((d, k) => ({ ...d, cache: fwd[k]!.cache })));
    ds.forEach((d, k) => expect(maxRelativeError(batched[k]!, tapeGradients(f, d.lora, d.activations, d.featureGrad))).toBeLessThan(1e-5));
  });

  it('backward (gradients and Adam step) equals the tape per device to within 1e-5 relative', () => {
    const compute = tfjsCompute(f);
    const ds = devices(f, sizes);
    const fwd = forwardAll(
      compute,
      ds,
      ds.map((_, k) => String(k)),
    );
    const items = ds.map((d, k) => ({ ...d, cache: fwd[k]!.cache, loraOpt: initOptimizerState(d.lora), lr: 1e-3 }));
    const batched = backward(compute, items);
    items.forEach((it, k) => {
      const alone = tapeBackward(f, it.lora, it.loraOpt, it.activations, it.featureGrad, it.lr);
      expect(maxRelativeError(batched[k]!.lora, alone.lora)).toBeLessThan(1e-5);
      expect(batched[k]!.loraOpt.step).toBe(1);
    });
  });
});

describe('batched passes with kept intermediates (what the server shards run)', () => {
  it('gives each device its own features and cache, and a backward pass over another grouping equals per-device execution', () => {
    // Prepare: five devices; the forward pass batches {0,1,2} and {3,4}, the backward pass {4,1,3} and {0,2}.
    const compute = tfjsCompute(f);
    const ds = devices(f, [16, 16, 9, 16, 4]);
    const items = ds.map((d) => ({ ...d, loraOpt: initOptimizerState(d.lora), lr: 1e-3 }));
    // Execute
    const forward = [...forwardAll(compute, ds.slice(0, 3), ['a0', 'a1', 'a2']), ...forwardAll(compute, ds.slice(3), ['a3', 'a4'])];
    const order = [
      [4, 1, 3],
      [0, 2],
    ];
    const steps = new Map<number, ReturnType<typeof backward>[number]>();
    for (const group of order) {
      const out = backward(
        compute,
        group.map((k) => ({ ...items[k]!, cache: forward[k]!.cache })),
      );
      group.forEach((k, i) => steps.set(k, out[i]!));
    }
    // Assert
    items.forEach((it, k) => {
      const alone = compute.forward([{ lora: it.lora, activations: it.activations }], { keys: ['alone'] })[0]!;
      expect(forward[k]!.features.shape).toEqual(alone.features.shape);
      expect(relativeError(forward[k]!.features.data, alone.features.data)).toBeLessThan(1e-5);
      expect(forward[k]!.cache.batchSize).toBe(alone.cache.batchSize);
      const step = backward(compute, [{ ...it, cache: alone.cache }])[0]!;
      expect(maxRelativeError(steps.get(k)!.lora, step.lora)).toBeLessThan(1e-5);
      expect(maxRelativeError(steps.get(k)!.loraOpt.m, step.loraOpt.m)).toBeLessThan(1e-5);
      // Stronger than the 1e-5 asked for: the frozen products are row-independent, so on wasm the
      // batched passes give each device exactly its own result (what keeps the simulation's log
      // the same with batching on or off).
      expect(Buffer.from(forward[k]!.features.data.buffer).equals(Buffer.from(alone.features.data.buffer))).toBe(true);
      for (const name of Object.keys(step.lora))
        expect(Buffer.from(steps.get(k)!.lora[name]!.buffer).equals(Buffer.from(step.lora[name]!.buffer))).toBe(true);
    });
    expect(compute.release('')).toBe(0);
  });

  it('keeps the intermediates as tensors under a key: same update bit for bit as rebuilt ones, freed when taken or released', () => {
    // Prepare
    const compute = tfjsCompute(f);
    const ds = devices(f, [16, 9, 16]);
    const items = ds.map((d) => ({ ...d, loraOpt: initOptimizerState(d.lora), lr: 1e-3 }));
    const rebuilt = forwardAll(compute, ds);
    const want = backward(
      compute,
      items.map((it, k) => ({ ...it, cache: rebuilt[k]!.cache })),
    );
    const tensorsBefore = tf.memory().numTensors;
    // Execute: kept under keys; device 1's key is released before the backward pass (as on another thread).
    const kept = forwardAll(compute, ds, ['s/0/a', 's/0/b', 's/0/c']);
    expect(kept.map((r) => r.cache.key)).toEqual(['s/0/a', 's/0/b', 's/0/c']);
    expect(compute.release('s/0/b')).toBe(1);
    const got = backward(
      compute,
      items.map((it, k) => ({ ...it, cache: kept[k]!.cache })),
    );
    // Assert
    kept.forEach((r, k) => expect(Buffer.from(r.features.data.buffer).equals(Buffer.from(rebuilt[k]!.features.data.buffer))).toBe(true));
    got.forEach((g, k) => {
      for (const name of Object.keys(want[k]!.lora))
        expect(Buffer.from(g.lora[name]!.buffer).equals(Buffer.from(want[k]!.lora[name]!.buffer))).toBe(true);
    });
    expect(compute.release('')).toBe(0);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('names the device whose cache does not fit its gradient', () => {
    const compute = tfjsCompute(f);
    const ds = devices(f, [8, 8]);
    const fwd = forwardAll(compute, ds);
    const items = ds.map((d, k) => ({ ...d, cache: k === 1 ? { ...fwd[1]!.cache, batchSize: 4 } : fwd[k]!.cache }));
    expect(() => compute.gradients(items)).toThrow(/device 1 a cache of 4 rows but 8 gradient rows/);
  });
});

describe('batched encoder', () => {
  it('works on other LoRA targets and ranks (key and output, rank 4)', () => {
    const g = createRandomFoundation(
      { ...DEFAULT_MODEL_CONFIG, loraTargets: ['key', 'output'], loraRank: 4 },
      RandomStream.fromSeed(8, 'foundation'),
    );
    const compute = tfjsCompute(g);
    const ds = devices(g, [8, 8, 8]);
    const fwd = forwardAll(compute, ds, ['0', '1', '2']);
    const grads = compute.gradients(ds.map((d, k) => ({ ...d, cache: fwd[k]!.cache })));
    ds.forEach((d, k) => {
      expect(relativeError(fwd[k]!.features.data, tapeForward(g, d.lora, d.activations).data)).toBeLessThan(1e-5);
      expect(maxRelativeError(grads[k]!, tapeGradients(g, d.lora, d.activations, d.featureGrad))).toBeLessThan(1e-5);
    });
    g.dispose();
  });

  it('leaks no tensors and does not mutate its inputs', () => {
    const compute = tfjsCompute(f);
    const ds = devices(f, [16, 16, 7]);
    const copies = ds.map((d) => ({
      a: d.activations.data.slice(),
      g: d.featureGrad.data.slice(),
      l: Object.fromEntries(Object.entries(d.lora).map(([k, v]) => [k, v.slice()])),
    }));
    const pass = (keys?: string[]): void => {
      const fwd = forwardAll(compute, ds, keys);
      compute.gradients(ds.map((d, k) => ({ ...d, cache: fwd[k]!.cache })));
    };
    pass();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      pass();
      pass(['a', 'b', 'c']);
    }
    expect(tf.memory().numTensors).toBe(before);
    ds.forEach((d, k) => {
      expect(d.activations.data).toEqual(copies[k]!.a);
      expect(d.featureGrad.data).toEqual(copies[k]!.g);
      for (const [n, v] of Object.entries(d.lora)) expect(v).toEqual(copies[k]!.l[n]);
    });
  });

  it('rejects an empty batch, mis-shaped cuts and a wrong number of keys with a ShapeError naming the device', () => {
    const compute = tfjsCompute(f);
    const ds = devices(f, [4, 4]);
    expect(() => compute.forward([])).toThrow(ShapeError);
    const bad = { ...ds[1]!, activations: { data: ds[1]!.activations.data, shape: [4, 16, 128] } };
    expect(() => forwardAll(compute, [ds[0]!, bad])).toThrow(/device 1 activations/);
    expect(() => forwardAll(compute, ds, ['only one'])).toThrow(/2 devices but 1 keys/);
    const fwd = forwardAll(compute, ds);
    const short = {
      ...ds[1]!,
      cache: fwd[1]!.cache,
      featureGrad: { data: ds[0]!.featureGrad.data.subarray(0, 3 * 17 * 128), shape: [3, 17, 128] },
    };
    expect(() => compute.gradients([{ ...ds[0]!, cache: fwd[0]!.cache }, short])).toThrow(/device 1/);
  });
});
