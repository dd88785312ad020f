/**
 * Adam (Kingma & Ba 2015) on plain typed arrays, so the actors keep optimiser state as data
 * (snapshots, replay, transfer) and never as tensors. Arithmetic in float64, stored as float32;
 * pure: returns new arrays and never mutates its inputs. Deterministic on every backend.
 */

import { timeModel } from './timing';

export type Weights = Record<string, Float32Array>;

export interface OptimizerState {
  /** Updates applied so far (for bias correction). */
  readonly step: number;
  /** First moments, by weight name. */
  readonly m: Readonly<Record<string, Float32Array>>;
  /** Second moments, by weight name. */
  readonly v: Readonly<Record<string, Float32Array>>;
}

export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/** Zero moments shaped like `weights`. */
export function initOptimizerState(weights: Readonly<Weights>): OptimizerState {
  const m: Weights = {};
  const v: Weights = {};
  for (const [k, w] of Object.entries(weights)) {
    m[k] = new Float32Array(w.length);
    v[k] = new Float32Array(w.length);
  }
  return { step: 0, m, v };
}

/** One Adam step: returns new weights and state. Throws if a gradient or moment is missing. */
export function adamUpdate(
  weights: Readonly<Weights>,
  grads: Readonly<Weights>,
  state: OptimizerState,
  lr: number,
): { weights: Weights; state: OptimizerState } {
  return timeModel(() => adamStep(weights, grads, state, lr));
}

function adamStep(
  weights: Readonly<Weights>,
  grads: Readonly<Weights>,
  state: OptimizerState,
  lr: number,
): { weights: Weights; state: OptimizerState } {
  const step = state.step + 1;
  const c1 = 1 - Math.pow(ADAM.beta1, step);
  const c2 = 1 - Math.pow(ADAM.beta2, step);
  const out: Weights = {};
  const m: Weights = {};
  const v: Weights = {};
  for (const [k, w] of Object.entries(weights)) {
    const g = grads[k];
    const m0 = state.m[k];
    const v0 = state.v[k];
    if (!g || !m0 || !v0 || g.length !== w.length) throw new Error(`adamUpdate: gradient or moments for '${k}' missing or mis-sized`);
    const wn = new Float32Array(w.length);
    const mn = new Float32Array(w.length);
    const vn = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] as number;
      const mi = ADAM.beta1 * (m0[i] as number) + (1 - ADAM.beta1) * gi;
      const vi = ADAM.beta2 * (v0[i] as number) + (1 - ADAM.beta2) * gi * gi;
      mn[i] = mi;
      vn[i] = vi;
      wn[i] = (w[i] as number) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + ADAM.epsilon);
    }
    out[k] = wn;
    m[k] = mn;
    v[k] = vn;
  }
  return { weights: out, state: { step, m, v } };
}

/** Pre-training's learning rate at `step` (1-based) of `steps`: linear warm-up over 100 steps, then cosine decay to 0. */
export function warmupCosineLr(step: number, steps: number, lr: number): number {
  const warmup = 100;
  return step < warmup ? (lr * step) / warmup : lr * 0.5 * (1 + Math.cos((Math.PI * (step - warmup)) / Math.max(1, steps - warmup)));
}
