/**
 * The server's kept intermediates: the tensors a forward pass leaves for its backward
 * pass, kept in a worker's backend under a key instead of being copied out to plain data and back
 * (2-3 MB per device and iteration, and the garbage collection that churn causes), as an edge
 * server keeps activations in accelerator memory between the two passes. A memo, never the source
 * of truth: the EncoderCache that names a key also carries the forward pass's input, so a store
 * that does not hold the key (another worker, a restarted one, a retried step) leads to the
 * forward pass being run again, with the same values. Entries are taken (and then freed by the
 * taker) by the backward pass, replaced when the same key is kept again, and released by prefix.
 * One store per run and worker (actors/resources.ts), so runs sharing a thread never meet.
 */
import type * as tf from '@tensorflow/tfjs';

function dispose(tensors: Record<string, tf.Tensor>): void {
  for (const t of Object.values(tensors)) t.dispose();
}

export class KeptTensors {
  private readonly store = new Map<string, Record<string, tf.Tensor>>();

  /** Keeps `tensors` (already tf.keep-ed by the caller) under `key`, freeing what was kept there before. */
  keep(key: string, tensors: Record<string, tf.Tensor>): void {
    const old = this.store.get(key);
    if (old) dispose(old);
    this.store.set(key, tensors);
  }

  /** The tensors kept under `key`, now the caller's to dispose; undefined if this store holds none. */
  take(key: string): Record<string, tf.Tensor> | undefined {
    const v = this.store.get(key);
    this.store.delete(key);
    return v;
  }

  /** Frees every entry whose key starts with `prefix`; returns how many. */
  release(prefix: string): number {
    let n = 0;
    for (const [key, tensors] of this.store) {
      if (!key.startsWith(prefix)) continue;
      dispose(tensors);
      this.store.delete(key);
      n++;
    }
    return n;
  }

  /** Entries held. */
  get size(): number {
    return this.store.size;
  }
}
