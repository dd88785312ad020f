/**
 * ONNX Runtime sessions, run synchronously. Actor transitions are synchronous (runtime/actor.ts),
 * and onnxruntime-node's public `InferenceSession.run` only wraps its native session's synchronous
 * `run` in a Promise (dist/backend.js), so this module uses that native session directly
 * (`onnxruntime-node/dist/binding`, pinned at 1.30.0). One intra-op thread and sequential
 * execution per session: the worker pool parallelises, and one thread keeps results independent
 * of how the runtime splits a product (the same log for 0, 1 or 2 workers).
 */
import { isMainThread } from 'node:worker_threads';
import { isSharedBuffer } from '../../util/sharedTensors';

/**
 * A tensor as the native session reads and makes them (type, data, dims). The binding is given
 * this class rather than onnxruntime-common's Tensor, whose checks compare typed arrays' classes,
 * which differ between realms (the native side makes its arrays in the thread's main realm; jest
 * runs tests in another).
 */
class RawTensor {
  readonly location = 'cpu';
  constructor(
    readonly type: string,
    readonly data: Float32Array | BigInt64Array,
    readonly dims: readonly number[],
  ) {}
}

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, RawTensor>, fetches: Record<string, null>, options: Record<string, unknown>): Record<string, RawTensor>;
  dispose(): void;
}

interface Ort {
  Session: new () => NativeSession;
}

/** Thrown when onnxruntime-node's native library cannot be loaded here. */
export class OnnxRuntimeUnavailable extends Error {
  override readonly name = 'OnnxRuntimeUnavailable';
}

let loaded: Ort | Error | undefined;

/** onnxruntime-node's native binding, loaded once per thread (an Error when it does not load). */
function ort(): Ort | Error {
  if (loaded) return loaded;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional native package, absent where its install failed: loaded only when asked for
    const { binding } = require('onnxruntime-node/dist/binding') as {
      binding: {
        InferenceSession: new () => NativeSession;
        initOrtOnce: (logLevel: number, tensor: typeof RawTensor, isMainThread: boolean) => void;
      };
    };
    binding.initOrtOnce(3, RawTensor, isMainThread); // log level 3: errors only
    loaded = { Session: binding.InferenceSession };
  } catch (e) {
    loaded = e instanceof Error ? e : new Error(String(e));
  }
  return loaded;
}

/** Why onnxruntime-node does not load here, or null when it does. */
export function onnxRuntimeProblem(): string | null {
  const o = ort();
  return o instanceof Error ? (o.message.split('\n')[0] ?? o.message) : null;
}

/**
 * `data`, or a copy of it in an ordinary buffer when it is in shared memory (util/sharedTensors.ts):
 * the native binding reads ordinary buffers only (a shared one is an "Invalid argument").
 */
export function unshared<T extends Float32Array | BigInt64Array>(data: T): T {
  return isSharedBuffer(data.buffer) ? (data.slice() as T) : data;
}

/**
 * `unshared` into one ordinary buffer used again and again, for a feed that is read by the run it
 * goes into and kept by nobody: no fresh allocation (and its page faults) per call.
 */
export class FeedBuffer {
  private buffer = new Float32Array(0);

  /** `data`, or its copy in this buffer (valid until the next call) when it is in shared memory. */
  plain(data: Float32Array): Float32Array {
    if (!isSharedBuffer(data.buffer)) return data;
    if (this.buffer.length < data.length) this.buffer = new Float32Array(data.length);
    const view = this.buffer.subarray(0, data.length);
    view.set(data);
    return view;
  }
}

/** A feed: float values, or int64 ids, with their dimensions. */
export interface Feed {
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}

/** One graph's session: `run(feeds, outputs)` returns the named outputs' values (arrays the caller owns). */
export class GraphSession {
  private readonly session: NativeSession;

  constructor(
    readonly name: string,
    model: Uint8Array,
  ) {
    const o = ort();
    if (o instanceof Error) throw new OnnxRuntimeUnavailable(`onnxruntime-node does not load: ${o.message}`, { cause: o });
    this.session = new o.Session();
    this.session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  }

  run(feeds: Readonly<Record<string, Feed>>, outputs: readonly string[]): Record<string, Float32Array> {
    const tensors: Record<string, RawTensor> = {};
    for (const [name, f] of Object.entries(feeds))
      tensors[name] = new RawTensor(f.data instanceof BigInt64Array ? 'int64' : 'float32', unshared(f.data), f.dims);
    const fetches: Record<string, null> = {};
    for (const name of outputs) fetches[name] = null;
    const out = this.session.run(tensors, fetches, {});
    const values: Record<string, Float32Array> = {};
    for (const name of outputs) values[name] = (out[name] as RawTensor).data as Float32Array;
    return values;
  }

  dispose(): void {
    this.session.dispose();
  }
}
