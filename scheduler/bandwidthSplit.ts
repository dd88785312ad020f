/**
 * The continuous part of the per-slot problem P(t) of MODEL.md §6, for a fixed admitted set:
 * the minimum fraction that meets T_max, the optimal split of the band (KKT), and the spreading
 * of what is left over so that the round finishes sooner.
 *
 * Everything is written in u = a_k/β (the SNR on the device's slice; a_k = p_k g_k/(B N0)), where
 * the uplink airtime is cUp_k f(u) with the universal f(u) = u/ln(1+u) (scheduler/costs.ts):
 *
 * - Deadline. T_k = fixedS_k + serverS·n + L_k(u), L_k(u) = cUp_k f(u) + cDown_k u, increasing and
 *   concave in u (f is concave). β_k^min = a_k/u*, u* the root of L_k(u) = slack_k(n); Newton from
 *   u = a_k (β = 1) climbs monotonically to u* from the feasible side, so every iterate meets T_max.
 *   A device with L_k(a_k) > slack (T_k(1) > T_max) cannot be admitted.
 * - Split. The weighted energy of k is Q_k E_k = Q_k computeJ_k + ω_k f(u), ω_k = Q_k p_k cUp_k,
 *   convex and decreasing in β. KKT: −d(Q_k E_k)/dβ = ω_k M(u)/a_k = λ on every device above its
 *   minimum, with the universal marginal M(u) = u² f'(u) (increasing). So
 *   β_k(λ) = max(β_k^min, a_k / M⁻¹(λ a_k/ω_k)), and Σ_k β_k(λ) is decreasing in λ: a safeguarded
 *   Newton iteration on ln λ (with a bracket, falling back to bisection) finds Σβ = budget.
 *   M⁻¹ is a Newton iteration on ln u, warm-started from the previous λ.
 * - Leftover. When no admitted device has ω_k > 0 (all queues zero, say), energy does not depend on
 *   the split; the whole band is still handed out, so that every device finishes at the same time
 *   T* ≤ T_max (bisection on T*), which minimises the round's latency.
 *
 * Cost: O(m · i_λ · i_u) for m devices, with i_λ ≈ 5–15 outer and i_u ≈ 2–4 inner iterations.
 */
import type { PreparedSlot } from './costs';
// Math and the numeric globals are bound once: inside a vm context (Jest), every global lookup in a hot loop is slow.
const { LN2, abs, exp, floor, log, log1p, max, min } = Math;
const INFINITY = Number.POSITIVE_INFINITY;
const NOT_A_NUMBER = Number.NaN;
const isFiniteNumber = Number.isFinite;

/** Σβ is held to this, a hair under 1, so that sums taken in another order never exceed 1. */
export const BAND_BUDGET = 1 - 1e-12;
/** Deadline guard: T_k is held to T_max (1 − this), so that recomputing T_k in another order never exceeds T_max. */
export const DEADLINE_GUARD = 1e-12;
/** Smallest fraction handed to a device whose latency does not depend on its fraction. */
const MIN_FRACTION = 1e-12;

/** f(u) = u / ln(1+u), the uplink airtime per unit cUp at slice SNR u (→ 1 as u → 0). MODEL.md §3. */
export function airtimeFactor(u: number): number {
  return u < 1e-8 ? 1 + u / 2 : u / log1p(u);
}

/** ln(1+u) − u/(1+u), computed without cancellation for small u. */
function logGap(u: number): number {
  if (u < 1e-2) {
    // Σ_{j≥2} (−1)^j (j−1)/j u^j
    let term = u * u;
    let sum = 0;
    for (let j = 2; j <= 12; j++) {
      sum += ((j % 2 === 0 ? 1 : -1) * (j - 1) * term) / j;
      term *= u;
    }
    return sum;
  }
  return log1p(u) - u / (1 + u);
}

/** f'(u). */
function airtimeFactorSlope(u: number): number {
  if (u < 1e-8) return 0.5 - u / 6;
  const l = log1p(u);
  return logGap(u) / (l * l);
}

/** M(u) = u² f'(u): the marginal energy saving of bandwidth, up to the device's constant ω_k/a_k. */
export function marginalSaving(u: number): number {
  return u * u * airtimeFactorSlope(u);
}

/** d ln M / d ln u = u M'(u)/M(u), in (1, 2]. */
function marginalLogSlope(u: number): number {
  if (u < 1e-6) return 2 - u / 3;
  const l = log1p(u);
  const gap = logGap(u);
  const fp = gap / (l * l);
  const fpp = ((u / ((1 + u) * (1 + u))) * l - (2 * gap) / (1 + u)) / (l * l * l);
  return (2 * fp + u * fpp) / fp;
}

/** One Newton step of ln M(u) = lt on ln u: returns the step to subtract from ln u. */
function marginalNewtonStep(u: number, lt: number): number {
  if (u < 1e-6) {
    const m = u * u * (0.5 - u / 6);
    return (log(m) - lt) / (2 - u / 3);
  }
  const l = log1p(u);
  const gap = logGap(u);
  const fp = gap / (l * l);
  const fpp = ((u / ((1 + u) * (1 + u))) * l - (2 * gap) / (1 + u)) / (l * l * l);
  return (log(u * u * fp) - lt) / ((2 * fp + u * fpp) / fp);
}

// ln u as a function of ln t on a grid, for the starting point of M⁻¹ (built once, deterministic).
const INVERSE_LT_MIN = -30;
const INVERSE_LT_MAX = 60;
const INVERSE_STEPS = 1024;
const INVERSE_DLT = (INVERSE_LT_MAX - INVERSE_LT_MIN) / INVERSE_STEPS;
const inverseTable = (() => {
  const table = new Float64Array(INVERSE_STEPS + 1);
  let s = 0.5 * (INVERSE_LT_MIN + LN2);
  for (let i = 0; i <= INVERSE_STEPS; i++) {
    const lt = INVERSE_LT_MIN + i * INVERSE_DLT;
    for (let j = 0; j < 100; j++) {
      const step = max(-5, min(5, marginalNewtonStep(exp(s), lt)));
      s -= step;
      if (abs(step) < 1e-15) break;
    }
    table[i] = s;
  }
  return table;
})();

/** Below this t, `inverseMarginal` does not read its `guess` (ln t under the table's end): its answer depends on t alone. */
export const INVERSE_GUESS_FREE_T = exp(INVERSE_LT_MAX - 1);

/** M⁻¹(t): the u with M(u) = t (t > 0). Table start, then Newton on ln u; `guess` is used outside the table. */
export function inverseMarginal(t: number, guess = 0): number {
  const lt = log(t);
  let s: number;
  if (lt <= INVERSE_LT_MIN) s = 0.5 * (lt + LN2);
  else if (lt >= INVERSE_LT_MAX) s = guess > 0 ? log(guess) : (inverseTable[INVERSE_STEPS] as number) + 0.5 * (lt - INVERSE_LT_MAX);
  else {
    const x = (lt - INVERSE_LT_MIN) / INVERSE_DLT;
    const i = floor(x);
    const f = x - i;
    s = (inverseTable[i] as number) * (1 - f) + (inverseTable[i + 1] as number) * f;
  }
  for (let i = 0; i < 60; i++) {
    const step = max(-5, min(5, marginalNewtonStep(exp(s), lt)));
    s -= step;
    if (abs(step) < 1e-13) break;
  }
  return exp(s);
}

/**
 * Largest u (smallest β = a/u) with L_k(u) = cUp f(u) + cDown u ≤ slackS, or 0 when even β = 1
 * (u = a) misses it. MODEL.md §6 (β_k^min). Newton from the feasible side; never returns a u whose
 * L exceeds slackS.
 */
export function deadlineSnr(prep: PreparedSlot, k: number, slackS: number, guess = 0): number {
  const a = prep.snr[k] as number;
  const cUp = prep.cUp[k] as number;
  const cDown = prep.cDown[k] as number;
  if (!(slackS > 0) || !(a > 0)) return 0;
  if (cUp * airtimeFactor(a) + cDown * a > slackS) return 0;
  const uCap = a / MIN_FRACTION;
  if (cUp * airtimeFactor(uCap) + cDown * uCap <= slackS) return uCap;
  // Start from `guess` when it is feasible; from the infeasible side, one Newton step of a concave
  // function lands on the feasible side (the tangent lies above), after which the climb is monotone.
  let u = a;
  if (guess > a && guess < uCap) {
    const gap = slackS - (cUp * airtimeFactor(guess) + cDown * guess);
    if (gap >= 0) u = guess;
    else {
      const next = guess + gap / (cUp * airtimeFactorSlope(guess) + cDown);
      if (next > a && cUp * airtimeFactor(next) + cDown * next <= slackS) u = next;
    }
  }
  for (let i = 0; i < 100; i++) {
    const gap = slackS - (cUp * airtimeFactor(u) + cDown * u);
    const slope = cUp * airtimeFactorSlope(u) + cDown;
    const next = min(uCap, u + gap / slope);
    if (!(next > u * (1 + 1e-15))) break;
    u = next;
  }
  while (cUp * airtimeFactor(u) + cDown * u > slackS) u *= 1 - 1e-14; // rounding only
  return u;
}

/** Scratch space for `solveBandwidthSplit`, reused across calls to avoid allocation in the set search. */
export class BandwidthSplitScratch {
  u: Float64Array;
  best: Float64Array;
  /** dΣβ/d ln λ at the last `splitSum`. */
  slope = 0;
  constructor(size: number) {
    this.u = new Float64Array(size);
    this.best = new Float64Array(size);
  }
  ensure(size: number): void {
    if (this.u.length < size) {
      this.u = new Float64Array(size * 2);
      this.best = new Float64Array(size * 2);
    }
  }
}

/** A fixed set with its per-member data, as `solveBandwidthSplit` needs it. */
export interface BandwidthSplitInput {
  /** Device indices of the members. */
  readonly members: ArrayLike<number>;
  readonly size: number;
  /** u_k at β_k^min for each member (same order as `members`). */
  readonly uMin: ArrayLike<number>;
  /** Q_k of each device (indexed by device). */
  readonly queues: ArrayLike<number>;
}

/** Σβ_k(λ) of the KKT split; fills scratch.u with each member's u and scratch.slope with dΣβ/d ln λ. */
function splitSum(prep: PreparedSlot, input: BandwidthSplitInput, lambda: number, scratch: BandwidthSplitScratch): number {
  const { members, size, uMin, queues } = input;
  const u = scratch.u;
  let sum = 0;
  let slope = 0;
  for (let i = 0; i < size; i++) {
    const k = members[i] as number;
    const a = prep.snr[k] as number;
    const um = uMin[i] as number;
    const omega = (queues[k] as number) * (prep.powerW[k] as number) * (prep.cUp[k] as number);
    if (omega > 0) {
      const t = (lambda * a) / omega;
      if (marginalSaving(um) <= t) {
        u[i] = um;
        sum += a / um;
      } else {
        const ui = inverseMarginal(t, u[i] as number);
        u[i] = ui;
        const beta = a / ui;
        sum += beta;
        // dβ/d ln λ = −β · (d ln u / d ln λ) = −β / (d ln M / d ln u)
        slope -= beta / marginalLogSlope(ui);
      }
    } else {
      u[i] = um;
      sum += a / um;
    }
  }
  scratch.slope = slope;
  return sum;
}

/**
 * The optimal split for a fixed set (MODEL.md §6, KKT with one multiplier): minimises
 * Σ Q_k E_k(β_k) s.t. Σβ_k ≤ budget, β_k ≥ β_k^min. Writes β_k into `out` (member order) and
 * returns Σ Q_k E_k, or +∞ when Σ β_k^min > budget. Members with ω_k = 0 stay at β_k^min here
 * (see `spreadLeftover`).
 */
export function solveBandwidthSplit(
  prep: PreparedSlot,
  input: BandwidthSplitInput,
  budget: number,
  scratch: BandwidthSplitScratch,
  out: Float64Array,
): number {
  const { members, size, uMin, queues } = input;
  scratch.ensure(size);
  const u = scratch.u;
  let sumMin = 0;
  let base = 0;
  let lambdaHi = 0;
  let weighted = 0;
  for (let i = 0; i < size; i++) {
    const k = members[i] as number;
    const a = prep.snr[k] as number;
    const um = uMin[i] as number;
    const q = queues[k] as number;
    sumMin += a / um;
    base += q * (prep.computeJ[k] as number);
    const omega = q * (prep.powerW[k] as number) * (prep.cUp[k] as number);
    if (omega > 0) {
      weighted++;
      const l = (omega * marginalSaving(um)) / a;
      if (l > lambdaHi) lambdaHi = l;
    }
    u[i] = um;
  }
  if (sumMin > budget) return INFINITY;
  if (weighted === 0 || sumMin === budget) {
    let cost = base;
    for (let i = 0; i < size; i++) {
      const k = members[i] as number;
      out[i] = (prep.snr[k] as number) / (uMin[i] as number);
      cost += (queues[k] as number) * (prep.powerW[k] as number) * (prep.cUp[k] as number) * airtimeFactor(uMin[i] as number);
    }
    return cost;
  }
  let sHi = log(lambdaHi);
  let sLo = -INFINITY;
  let s = sHi + 2 * log(sumMin / budget);
  let haveBest = false;
  const best = scratch.best;
  for (let iter = 0; iter < 200; iter++) {
    const sum = splitSum(prep, input, exp(s), scratch);
    const slope = scratch.slope;
    const f = log(sum / budget);
    if (f <= 0) {
      sHi = s;
      haveBest = true;
      for (let i = 0; i < size; i++) best[i] = u[i] as number;
      if (f > -1e-13) break;
    } else sLo = s;
    if (sHi - sLo < 1e-13) break;
    let next = slope < 0 ? s - f / (slope / sum) : NOT_A_NUMBER;
    if (!(next > sLo && next < sHi)) next = isFiniteNumber(sLo) ? (sLo + sHi) / 2 : min(s, sHi) - 2;
    s = next;
  }
  if (!haveBest) {
    splitSum(prep, input, exp(sHi), scratch);
    for (let i = 0; i < size; i++) best[i] = u[i] as number;
  }
  let cost = base;
  for (let i = 0; i < size; i++) {
    const k = members[i] as number;
    const ui = best[i] as number;
    out[i] = (prep.snr[k] as number) / ui;
    cost += (queues[k] as number) * (prep.powerW[k] as number) * (prep.cUp[k] as number) * airtimeFactor(ui);
  }
  return cost;
}

/** The slack T_max − t_k^dev − t^srv(n) (less the guard) left for the airtime of device k. */
export function airtimeSlackS(prep: PreparedSlot, k: number, admittedCount: number): number {
  return prep.deadlineS * (1 - DEADLINE_GUARD) - (prep.fixedS[k] as number) - prep.serverS * admittedCount;
}

/**
 * Spreads the band over a fixed set so that all members finish together at the earliest T* ≤ T_max
 * with Σβ = budget (bisection on T*); used when the split does not change the energy term.
 * `fractions` holds feasible fractions on entry (Σ ≤ budget) and the spread ones on exit.
 * MODEL.md §6 ("what is left over ... never wasted").
 */
export function spreadLeftover(
  prep: PreparedSlot,
  members: readonly number[],
  admittedCount: number,
  budget: number,
  fractions: Float64Array,
): void {
  const m = members.length;
  if (m === 0) return;
  let sum = 0;
  for (let i = 0; i < m; i++) sum += fractions[i] as number;
  if (sum >= budget) return;
  const fractionsAt = (t: number, target: Float64Array): number => {
    let total = 0;
    for (let i = 0; i < m; i++) {
      const k = members[i] as number;
      const slack = t - (prep.fixedS[k] as number) - prep.serverS * admittedCount;
      const u = deadlineSnr(prep, k, slack);
      const beta = u > 0 ? (prep.snr[k] as number) / u : INFINITY;
      target[i] = beta;
      total += beta;
    }
    return total;
  };
  let hi = prep.deadlineS * (1 - DEADLINE_GUARD);
  let lo = 0;
  for (let i = 0; i < m; i++) {
    const k = members[i] as number;
    lo = max(lo, (prep.fixedS[k] as number) + prep.serverS * admittedCount + (prep.cUp[k] as number));
  }
  if (!(lo < hi)) return;
  const trial = new Float64Array(m);
  const kept = Float64Array.from(fractions.subarray(0, m));
  for (let iter = 0; iter < 200 && hi - lo > 1e-15 * hi; iter++) {
    const mid = (lo + hi) / 2;
    const total = fractionsAt(mid, trial);
    if (total <= budget) {
      hi = mid;
      kept.set(trial);
    } else lo = mid;
  }
  // Members whose latency does not depend on β keep their floor; hand any rest to them evenly is pointless,
  // so scale up proportionally instead (only latency-insensitive devices can remain below the budget).
  let keptSum = 0;
  for (let i = 0; i < m; i++) keptSum += kept[i] as number;
  const scale = keptSum > 0 ? budget / keptSum : 1;
  for (let i = 0; i < m; i++) fractions[i] = (kept[i] as number) * (scale > 1 ? scale : 1);
}
