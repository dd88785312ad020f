/**
 * The server's kept intermediates (issue 7): the tensors a forward pass leaves for its backward
 * pass, kept in this thread's backend under a key instead of being copied out to plain data and
 * back (2-3 MB per device and iteration, and the garbage collection that churn causes), as an
 * edge server keeps activations in accelerator memory between the two passes. A memo, never the
 * source of truth: the EncoderCache that names a key also carries the forward pass's input, so a
 * thread that does not hold the key (another worker, a restarted one, a retried step) runs the
 * forward pass again and gets the same values. Entries are taken (and then freed) by the backward
 * pass, replaced when the same key is kept again, and released by key prefix.
 */
import type * as tf from '@tensorflow/tfjs';

const store = new Map<string, Record<string, tf.Tensor>>();

function dispose(tensors: Record<string, tf.Tensor>): void {
  for (const t of Object.values(tensors)) t.dispose();
}

/** Keeps `tensors` (already tf.keep-ed by the caller) under `key`, freeing what was kept there before. */
export function keepTensors(key: string, tensors: Record<string, tf.Tensor>): void {
  const old = store.get(key);
  if (old) dispose(old);
  store.set(key, tensors);
}

/** The tensors kept under `key`, now the caller's to dispose; undefined if this thread holds none. */
export function takeTensors(key: string): Record<string, tf.Tensor> | undefined {
  const v = store.get(key);
  store.delete(key);
  return v;
}

/** Frees every entry whose key starts with `prefix`; returns how many. */
export function releaseKept(prefix: string): number {
  let n = 0;
  for (const [key, tensors] of store) {
    if (!key.startsWith(prefix)) continue;
    dispose(tensors);
    store.delete(key);
    n++;
  }
  return n;
}

/** Entries held by this thread. */
export function keptCount(): number {
  return store.size;
}
