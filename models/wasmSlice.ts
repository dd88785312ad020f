/**
 * Linear-time Slice and SplitV for the wasm backend. tfjs-backend-wasm 4.22's Slice kernel (which
 * its SplitV calls for every piece) reads the whole input into a fresh JS array (readSync) before
 * copying out the slice, so splitting a stacked batch of D devices into its D row blocks costs D
 * full copies plus the page faults of D multi-megabyte allocations (measured: a batched encoder
 * pass of 12 devices took 2.5-3x the time of 12 single passes). These kernels copy a contiguous
 * slice straight from the wasm heap into the output and leave every other slice to the original
 * kernel. Same values, bit for bit (test/models.wasmSlice.test.ts).
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of BackendWasm used here (public methods of the backend class). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

let patched = false;

/** Registers the heap-copy Slice and SplitV for 'wasm' (once; the original Slice remains the fallback). */
export function useLinearWasmSlice(): void {
  if (patched) return;
  const original = tf.getKernel('Slice', 'wasm');
  if (!original || !tf.getKernel('SplitV', 'wasm')) return;
  const fallback = original.kernelFunc;

  const slice = (x: tf.TensorInfo, begin: number[], size: number[], args: KernelArgs): tf.TensorInfo => {
    if (x.dtype === 'string' || !tf.slice_util.isSliceContinous(x.shape, begin, size))
      return fallback({ ...args, inputs: { x }, attrs: { begin, size } }) as tf.TensorInfo;
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput(size, x.dtype);
    const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    const n = tf.util.sizeFromShape(size);
    if (n > 0) backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(offset, offset + n));
    return out;
  };

  for (const name of ['Slice', 'SplitV']) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: 'Slice',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      const attrs = args.attrs as { begin: number | number[]; size: number | number[] };
      const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size) as [number[], number[]];
      return slice(x, begin, size, args);
    },
  });
  tf.registerKernel({
    kernelName: 'SplitV',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      const attrs = args.attrs as { numOrSizeSplits: number | number[]; axis: number | number[] };
      const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0] as number;
      const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = x.shape.slice();
        size[axis] = s;
        const piece = slice(x, begin.slice(), size, args);
        begin[axis] = (begin[axis] as number) + s;
        return piece;
      });
    },
  });
  patched = true;
}
