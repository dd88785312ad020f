/**
 * Where a thread's model outputs that cross actors live: ordinary arrays by default, or shared
 * memory once a worker host turns it on (runtime/host.ts, when the event log's digests of its
 * settled passes are taken by the main thread). The main thread then reads those tensors where they
 * are, without a copy, and digests them while the worker computes on: digesting a cell-50 round's
 * ~28 MB of cuts took ~4 ms of the worker's critical path. A shared tensor is shared, never moved:
 * no model code writes into an array once it has returned it (every model function returns new
 * arrays), and the actor host copies one that a sender keeps before anyone else gets it.
 */

let sharing = false;

/** Allocates this thread's model outputs in shared memory (`on`) or in ordinary arrays. */
export function shareTensors(on: boolean): void {
  sharing = on;
}

/** Whether this thread allocates its model outputs in shared memory. */
export function tensorsShared(): boolean {
  return sharing;
}

/** A zeroed Float32Array of `length` values, in shared memory when this thread shares its tensors. */
export function tensorArray(length: number): Float32Array {
  return sharing ? new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT)) : new Float32Array(length);
}

/** A copy of `values` that this thread owns, in shared memory when it shares its tensors. */
export function tensorCopy(values: Float32Array): Float32Array {
  if (!sharing) return values.slice();
  const out = tensorArray(values.length);
  out.set(values);
  return out;
}

/** Whether `buffer` is a SharedArrayBuffer (of any realm: jest runs tests in another). */
export function isSharedBuffer(buffer: unknown): buffer is SharedArrayBuffer {
  return Object.prototype.toString.call(buffer) === '[object SharedArrayBuffer]';
}
