/**
 * Tensor helpers of the model's pure functions: the `Cut` (a value crossing the split, as a
 * message), shape checks, typed arrays in and out of tensors, and tf.tidy around a step that
 * returns plain data.
 */
import * as tf from '@tensorflow/tfjs';
import { sizeOf } from './config';
import type { Foundation } from './foundation';
import { timeModel } from './timing';
import { tensorArray, tensorsShared } from '../util/sharedTensors';

/** A value crossing a cut: row-major data and its shape. */
export interface Cut {
  data: Float32Array;
  shape: number[];
}

/** Thrown when a message or weight set does not fit the model. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

/** Checks that `cut` is [b, tokens, dModel] and returns b (ShapeError otherwise). */
export function checkCut(f: Foundation, cut: Cut, what: string): number {
  const c = f.config;
  const [b, l, d] = cut.shape;
  if (cut.shape.length !== 3 || l !== c.tokens || d !== c.dModel || !b || cut.data.length !== b * l * d)
    throw new ShapeError(
      `${what}: expected shape [b, ${c.tokens}, ${c.dModel}] with b·${c.tokens}·${c.dModel} values, got [${cut.shape.join(', ')}] with ${cut.data.length}`,
    );
  return b;
}

/** Tensors of `map`'s arrays with `shapes` (ShapeError if one is missing or mis-sized); callers own tf.tidy. */
export function tensors(
  map: Readonly<Record<string, Float32Array>>,
  shapes: Record<string, number[]>,
  what: string,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const v = map[name];
    if (!v || v.length !== sizeOf(shape)) throw new ShapeError(`${what}: '${name}' missing or not of shape [${shape.join(', ')}]`);
    out[name] = tf.tensor(v, shape, 'float32');
  }
  return out;
}

/**
 * Runs `fn` inside tf.tidy and returns its plain-data result. (tf.tidy scans what it returns for
 * tensors, walking every index of a typed array: returning Cuts from tidy directly cost tens of ms.)
 */
export function tidyData<T>(fn: () => T): T {
  let result: T | undefined;
  timeModel(() =>
    tf.tidy(() => {
      result = fn();
    }),
  );
  return result as T;
}

/**
 * A tensor's values in an array the caller owns. wasm's dataSync already returns a fresh copy of
 * its heap; other backends (cpu) may hand out the tensor's own storage, which is copied. (The
 * copy it saves on wasm is a cut message, 0.14 MB, per device and pass, or a plain-data cache.)
 * A thread that shares its tensors (util/sharedTensors.ts) gets them in shared memory, with
 * the same one copy.
 */
export function ownedValues(t: tf.Tensor): Float32Array {
  // Shared on the backends that read shared arrays back (tfjs-node's binding is not known to).
  if (tensorsShared() && t.dtype === 'float32' && tf.getBackend() !== 'tensorflow') return sharedValues(t);
  const v = t.dataSync() as Float32Array;
  return tf.getBackend() === 'wasm' ? v : new Float32Array(v);
}

/** The wasm backend's bookkeeping that `readSync` reads (tfjs-backend-wasm 4.22). */
interface WasmBackendData {
  readonly dataIdMap?: { get(id: object): { memoryOffset: number; dtype: string; shape: number[] } | undefined };
  readonly wasm?: { readonly HEAPU8?: Uint8Array };
}

/**
 * A float32 tensor's values copied once into shared memory: on wasm straight from the backend's
 * heap, where its `readSync` copies them from (a dataSync and a second copy otherwise).
 */
function sharedValues(t: tf.Tensor): Float32Array {
  const out = tensorArray(t.size);
  const heap = tf.getBackend() === 'wasm' ? wasmHeapBytes(t) : undefined;
  if (heap) new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(heap);
  else out.set(t.dataSync() as Float32Array);
  return out;
}

/** The bytes of `t` in the wasm backend's heap (a view), or undefined when they are not where its readSync reads them. */
function wasmHeapBytes(t: tf.Tensor): Uint8Array | undefined {
  const backend = tf.backend() as unknown as WasmBackendData;
  const data = backend.dataIdMap?.get(t.dataId);
  const heap = backend.wasm?.HEAPU8;
  const bytes = t.size * Float32Array.BYTES_PER_ELEMENT;
  if (
    !data ||
    !heap ||
    data.dtype !== 'float32' ||
    !Number.isInteger(data.memoryOffset) ||
    data.shape.reduce((n, d) => n * d, 1) !== t.size
  )
    return undefined;
  const view = heap.subarray(data.memoryOffset, data.memoryOffset + bytes);
  return view.length === bytes ? view : undefined;
}

/** A tensor as a Cut the caller owns. */
export const toCut = (t: tf.Tensor): Cut => ({ data: ownedValues(t), shape: t.shape.slice() });

/**
 * The devices' cuts stacked by samples, [Σ b_k, L, d] (the cut itself when there is one). Stacked
 * inside the backend: a JS buffer of the whole batch costs more (page faults of a fresh
 * multi-megabyte allocation) than the products it feeds.
 */
export function stackCuts(cuts: readonly Cut[]): tf.Tensor3D {
  const [, l, d] = (cuts[0] as Cut).shape as [number, number, number];
  const total = cuts.reduce((n, c) => n + (c.shape[0] as number), 0);
  if (cuts.length === 1) return tf.tensor((cuts[0] as Cut).data, [total, l, d], 'float32') as tf.Tensor3D;
  return tf
    .concat(
      cuts.map((p) => tf.tensor(p.data, p.shape as number[], 'float32')),
      0,
    )
    .reshape([total, l, d]) as tf.Tensor3D;
}
