/** Shared by the exactness tests (split, batched, text model): relative errors, and LoRA weights that exercise every gradient path. */
import { initLora, type Foundation, type LoraWeights } from '../models';
import { RandomStream } from '../runtime/random';

/** max|got − want| / max|want| (the absolute difference when `want` is all zeros). */
export function relativeError(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
    scale = Math.max(scale, Math.abs(want[i] as number));
  }
  return scale > 0 ? diff / scale : diff;
}

/** The worst `relativeError` over the arrays of two records with the same names. */
export function maxRelativeError(got: Record<string, Float32Array>, want: Record<string, Float32Array>): number {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  return Math.max(0, ...Object.keys(want).map((k) => relativeError(got[k] as Float32Array, want[k] as Float32Array)));
}

/** A LoRA copy with B ≠ 0 (B starts at 0), so every gradient path is exercised. */
export function loraWithNonzeroB(f: Foundation, seed: number): LoraWeights {
  const r = RandomStream.fromSeed(seed, 'lora');
  const lora = initLora(f, r);
  for (const k of Object.keys(lora)) if (k.endsWith('/B')) lora[k] = (lora[k] as Float32Array).map(() => 0.05 * r.normal());
  return lora;
}
