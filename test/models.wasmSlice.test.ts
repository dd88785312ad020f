/** The linear-time Slice and SplitV kernels registered for wasm (models/wasmSlice.ts) give the same values as plain indexing. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../models';

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
});

/** Rows [r0, r0+nr) and columns [c0, c0+nc) of a rows x cols matrix stored row-major, by hand. */
function block(values: Float32Array, cols: number, r0: number, nr: number, c0: number, nc: number): number[] {
  const out: number[] = [];
  for (let r = r0; r < r0 + nr; r++) for (let c = c0; c < c0 + nc; c++) out.push(values[r * cols + c] as number);
  return out;
}

describe('wasm Slice and SplitV', () => {
  const rows = 37;
  const cols = 5;
  const values = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 1000);

  it('slices contiguous row blocks and non-contiguous column blocks exactly', () => {
    tf.tidy(() => {
      const x = tf.tensor2d(values, [rows, cols]);
      expect(Array.from(tf.slice(x, [3, 0], [10, cols]).dataSync())).toEqual(block(values, cols, 3, 10, 0, cols));
      expect(Array.from(tf.slice(x, [36, 0], [1, cols]).dataSync())).toEqual(block(values, cols, 36, 1, 0, cols));
      expect(Array.from(tf.slice(x, [2, 1], [4, 3]).dataSync())).toEqual(block(values, cols, 2, 4, 1, 3)); // the original kernel
      expect(tf.slice(x, [5, 0], [0, cols]).shape).toEqual([0, cols]);
    });
  });

  it('splits into row blocks and column blocks exactly, in order', () => {
    tf.tidy(() => {
      const x = tf.tensor2d(values, [rows, cols]);
      const sizes = [16, 16, 5];
      let r0 = 0;
      tf.split(x, sizes, 0).forEach((piece, k) => {
        expect(piece.shape).toEqual([sizes[k], cols]);
        expect(Array.from(piece.dataSync())).toEqual(block(values, cols, r0, sizes[k]!, 0, cols));
        r0 += sizes[k]!;
      });
      const [left, right] = tf.split(x, [2, 3], 1);
      expect(Array.from(left!.dataSync())).toEqual(block(values, cols, 0, rows, 0, 2));
      expect(Array.from(right!.dataSync())).toEqual(block(values, cols, 0, rows, 2, 3));
    });
  });

  it('splits int32 tensors and leaves the input intact', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([1, 2, 3, 4, 5, 6, 7], 'int32');
      expect(tf.split(x, [3, 4]).map((t) => Array.from(t.dataSync()))).toEqual([
        [1, 2, 3],
        [4, 5, 6, 7],
      ]);
      expect(Array.from(x.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7]);
    });
  });
});
