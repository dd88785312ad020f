/**
 * The fast set search for the per-slot problem P(t) of MODEL.md §6 (large K).
 *
 * Follows the Lyapunov drift-plus-penalty design of arXiv 2407.02924 (M. J. Neely, "Stochastic
 * Network Optimization", 2010, for the decomposition); the per-slot search below is ours.
 *
 * P(t): min over S, β of V·Φ(S) + Σ_{k∈S} Q_k E_k(β_k), Σβ ≤ 1, β_k ≥ β_k^min(|S|).
 * V·Φ(S) = P(n) − Σ_{k∈S} bonus_k with n = |S| (bonus = 0 for the count penalty, V w_t D_k/D for
 * the data-weighted one), so for a fixed n the problem is a cardinality-constrained resource
 * allocation. For each n = 1, 2, … while some n devices fit in the band:
 *
 * 1. β_k^min(n) for every device still able to meet T_max (scheduler/bandwidthSplit.ts, Newton, O(K)); a
 *    device that misses T_max at n misses it at every larger n and is dropped for good. The loop
 *    ends when the n smallest β^min no longer fit (they only grow with n).
 * 2. Dominance pool (exact): sort by β^min; device i dominates j if it comes first and its
 *    weighted energy at its minimum share, less its bonus, is at most j's at an infinite share, less
 *    j's bonus. Then i can replace j in any set at no loss, so a device with ≥ n dominators is never
 *    needed. Counting dominators is a sweep with a Fenwick tree, O(K log K). In practice the pool
 *    holds a few times n devices.
 * 3. Lagrangian selection on the pool: for a price λ on bandwidth each device scores
 *    φ_k(λ) = min_{β ≥ β^min} Q_k E_k(β) + λβ − bonus_k (closed form through the KKT inverse of
 *    split.ts), the n lowest scores are selected (quickselect, O(m)), and bisection on ln λ finds
 *    where the selection's bandwidth crosses the band. Σ of the selected scores − λ is the
 *    Lagrangian dual, a lower bound on every set of size n: if it is no better than the best
 *    solution so far, n is skipped. The selections on both sides of the crossing are solved exactly
 *    (KKT split) and the better one is kept.
 * 4. Swap refinement: the r members with the highest scores against the r outsiders with the
 *    lowest, each swap solved exactly, best improvement taken, a few rounds. A swap whose dual at
 *    λ_hi or λ_lo (Σ of its members' scores − λ) already reaches the bar is not solved: it could not
 *    be taken.
 *
 * Prices come back (the next size starts from the last one, the bisection re-selects at its ends):
 * the per-device KKT answers at a price are memoised (scheduler/priceMemo.ts) and reused as computed.
 *
 * Cost per decision: Σ_n [O(K log K) + O(m · i_bisect · i_u) + O(r² · rounds · n · i_λ · i_u)],
 * over n up to the largest size that fits in the band (n_max, ≈ 10 in the default cell). Measured
 * in bench/scheduler.ts. Exact on every instance where the dual has no gap at the chosen n; the
 * tests measure the gap against the exact solver (scheduler/exact.ts).
 */
import { penaltyTerm, emptySolution, type SetSolution, type SlotProblem } from './problem';
import {
  airtimeFactor,
  airtimeSlackS,
  BAND_BUDGET,
  deadlineSnr,
  INVERSE_GUESS_FREE_T,
  inverseMarginal,
  marginalSaving,
  solveBandwidthSplit,
} from './bandwidthSplit';
import { PriceMemo } from './priceMemo';
// Math and the numeric globals are bound once: inside a vm context (Jest), every global lookup in a hot loop is slow.
const { abs, exp, imul, log, max, min } = Math;
const INFINITY = Number.POSITIVE_INFINITY;
const NOT_A_NUMBER = Number.NaN;
const isNotANumber = Number.isNaN;
const isFiniteNumber = Number.isFinite;

/** Tuning of `searchSets`. */
export interface SearchOptions {
  /** r: members and outsiders tried in each swap round (default 3). */
  readonly swapWidth?: number;
  /** Swap rounds per size (default 2). */
  readonly swapRounds?: number;
  /** Bisection steps on ln λ (default 50). */
  readonly bisectionSteps?: number;
}

/** Rearranges idx[from..to) so that idx[from..from+count) hold the `count` smallest keys (ties by index). */
function selectSmallest(idx: Int32Array, from: number, to: number, count: number, key: Float64Array): void {
  const less = (x: number, y: number) => (key[x] as number) < (key[y] as number) || ((key[x] as number) === (key[y] as number) && x < y);
  let lo = from;
  let hi = to - 1;
  const target = from + count - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot
    let a = idx[lo] as number;
    let b = idx[mid] as number;
    let c = idx[hi] as number;
    if (less(b, a)) [a, b] = [b, a];
    if (less(c, b)) {
      [b, c] = [c, b];
      if (less(b, a)) [a, b] = [b, a];
    }
    const pivot = b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (less(idx[i] as number, pivot)) i++;
      while (less(pivot, idx[j] as number)) j--;
      if (i <= j) {
        const t = idx[i] as number;
        idx[i] = idx[j] as number;
        idx[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return;
  }
}

/** The fast search of this file's comment (MODEL.md §6). Returns the best set found with its KKT split. */
export function searchSets(problem: SlotProblem, options: SearchOptions = {}): SetSolution {
  const swapWidth = options.swapWidth ?? 3;
  const swapRounds = options.swapRounds ?? 2;
  const steps = options.bisectionSteps ?? 50;
  const { prep, queues, bonus } = problem;
  const K = prep.count;
  let best = emptySolution(problem);
  const ctx: SearchContext = {
    problem,
    uMinOf: new Float64Array(K),
    betaMin: new Float64Array(K),
    low: new Float64Array(K),
    high: new Float64Array(K),
    omega: new Float64Array(K),
    fixedCost: new Float64Array(K),
    uNow: new Float64Array(K),
    betaNow: new Float64Array(K),
    score: new Float64Array(K),
    overScore: new Float64Array(K),
    overLambda: NOT_A_NUMBER,
    marginalAtMin: new Float64Array(K),
    prices: new PriceMemo(K),
    pool: [],
    idx: new Int32Array(K),
    n: 0,
  };
  const { uMinOf, betaMin, low, high, omega, fixedCost, score } = ctx;
  for (let k = 0; k < K; k++) {
    omega[k] = (queues[k] as number) * (prep.powerW[k] as number) * (prep.cUp[k] as number);
    fixedCost[k] = (queues[k] as number) * (prep.computeJ[k] as number) - (bonus[k] as number);
  }
  // `sorted`: devices not yet known to miss T_max, by β^min (ties by index). β^min only grows with n,
  // so a stale value is a lower bound: devices beyond the point where n "universal" dominators
  // (weighted energy at their minimum share below every device's least weighted energy) are known
  // are dominated whatever their exact β^min, and are not recomputed.
  let minLow = INFINITY;
  for (const k of problem.candidates) {
    low[k] = (fixedCost[k] as number) + (omega[k] as number);
    minLow = min(minLow, low[k] as number);
  }
  const sorted = problem.candidates.slice();
  let lambdaPrev = 0;
  for (let n = 1; n <= sorted.length; n++) {
    // 1. minimum fractions at n (warm start from n − 1), exact on the prefix that matters
    let write = 0;
    let universal = 0;
    let cut = INFINITY;
    let read = 0;
    for (; read < sorted.length; read++) {
      const k = sorted[read] as number;
      if ((betaMin[k] as number) > cut) break;
      const u = deadlineSnr(prep, k, airtimeSlackS(prep, k, n), uMinOf[k] as number);
      if (!(u > 0)) continue;
      uMinOf[k] = u;
      const b = (prep.snr[k] as number) / u;
      betaMin[k] = b;
      sorted[write++] = k;
      high[k] = (fixedCost[k] as number) + (omega[k] as number) * airtimeFactor(u);
      if ((high[k] as number) <= minLow && universal < n) {
        universal++;
        if (universal === n) {
          cut = 0;
          for (let j = 0; j < write; j++) {
            const o = sorted[j] as number;
            if ((high[o] as number) <= minLow) cut = max(cut, betaMin[o] as number);
          }
        }
      }
    }
    const exhausted = read === sorted.length;
    for (; read < sorted.length; read++) sorted[write++] = sorted[read] as number;
    sorted.length = write;
    if (exhausted && write < n) break;
    insertionSort(sorted, betaMin);
    let fit = 0;
    for (let i = 0; i < n; i++) fit += betaMin[sorted[i] as number] as number;
    if (fit > BAND_BUDGET) break;
    let exactCount = sorted.length;
    if (cut < INFINITY) {
      exactCount = 0;
      while (exactCount < sorted.length && (betaMin[sorted[exactCount] as number] as number) <= cut) exactCount++;
    }
    const front = exactCount === sorted.length ? sorted : sorted.slice(0, exactCount);

    // 2. dominance pool
    const pool = dominancePool(front, n, low, high, minLow);
    ctx.pool = pool;
    ctx.n = n;
    const m = pool.length;
    const base = penaltyTerm(problem, n);
    for (const k of pool) ctx.marginalAtMin[k] = marginalSaving(uMinOf[k] as number);
    ctx.prices.startSize(n);
    ctx.overLambda = NOT_A_NUMBER;

    // 3. Lagrangian selection. A cheap bound first: the dual at the previous n's price.
    if (lambdaPrev > 0) {
      const dual = scoreAt(ctx, lambdaPrev);
      if (base + dual.value - lambdaPrev * BAND_BUDGET >= best.objective) continue;
    }
    let lambdaHi = 0;
    for (const k of pool) {
      const w = omega[k] as number;
      if (w > 0) lambdaHi = max(lambdaHi, (w * (ctx.marginalAtMin[k] as number)) / (prep.snr[k] as number));
    }
    if (!(lambdaHi > 0)) {
      let scale = 0;
      for (const k of pool) scale = max(scale, abs(high[k] as number));
      lambdaHi = scale > 0 ? scale : 1;
    }
    let lowerBound = -INFINITY;
    // bracket [λ_lo, λ_hi]: selection over the band at λ_lo, within it at λ_hi
    let lambdaLo = 0;
    const start = lambdaPrev > lambdaHi * 1e-9 && lambdaPrev < lambdaHi ? lambdaPrev : lambdaHi;
    let at = scoreAt(ctx, start);
    lowerBound = max(lowerBound, base + at.value - start * BAND_BUDGET);
    let hiHash = NOT_A_NUMBER;
    let loHash = NOT_A_NUMBER;
    if (at.used > BAND_BUDGET) {
      lambdaLo = start;
      loHash = at.hash;
      lambdaHi = start;
      for (let i = 0; i < 200; i++) {
        lambdaHi *= 8;
        at = scoreAt(ctx, lambdaHi);
        lowerBound = max(lowerBound, base + at.value - lambdaHi * BAND_BUDGET);
        if (at.used <= BAND_BUDGET) {
          hiHash = at.hash;
          break;
        }
        lambdaLo = lambdaHi;
        loHash = at.hash;
      }
    } else {
      lambdaHi = start;
      hiHash = at.hash;
      for (let i = 0; i < 40 && !at.stable; i++) {
        const trial = lambdaHi / 8;
        at = scoreAt(ctx, trial);
        lowerBound = max(lowerBound, base + at.value - trial * BAND_BUDGET);
        if (at.used > BAND_BUDGET) {
          lambdaLo = trial;
          loHash = at.hash;
          break;
        }
        lambdaHi = trial;
        hiHash = at.hash;
        if (at.stable) break;
      }
    }
    let hiSet: number[];
    let loSet: number[] | null = null;
    // the price of the scores the swaps read; NaN when the selection came from no price
    let scoredLambda = NOT_A_NUMBER;
    if (isNotANumber(hiHash)) {
      // no price makes the selection fit: fall back on the n smallest minimum fractions
      hiSet = sorted.slice(0, n).sort((x, y) => x - y);
    } else {
      if (lambdaLo > 0) {
        for (let i = 0; i < steps && log(lambdaHi / lambdaLo) > 1e-9 && loHash !== hiHash; i++) {
          const mid = exp((log(lambdaLo) + log(lambdaHi)) / 2);
          at = scoreAt(ctx, mid);
          lowerBound = max(lowerBound, base + at.value - mid * BAND_BUDGET);
          if (at.used > BAND_BUDGET) {
            lambdaLo = mid;
            loHash = at.hash;
          } else {
            lambdaHi = mid;
            hiHash = at.hash;
          }
        }
        if (loHash !== hiHash) {
          scoreAt(ctx, lambdaLo);
          loSet = selected(ctx);
        }
      }
      scoreAt(ctx, lambdaHi);
      scoredLambda = lambdaHi;
      hiSet = selected(ctx);
      lambdaPrev = lambdaLo > 0 ? lambdaHi : 0;
    }
    if (lowerBound >= best.objective) continue;
    let current = solveFixed(problem, hiSet, uMinOf, base);
    if (loSet) {
      const other = solveFixed(problem, loSet, uMinOf, base);
      if (other && (!current || other.objective < current.objective)) current = other;
    }
    if (!current) continue;

    // 4. swap refinement around the price λ_hi (scores are those of λ_hi; λ_lo's serve as a second bound)
    // (only when the sets come from prices: the fallback's may hold devices outside the pool, unscored)
    const overLambda = lambdaLo > 0 && ctx.overLambda === lambdaLo && !isNotANumber(scoredLambda) ? lambdaLo : NOT_A_NUMBER;
    const provedOptimal = current.objective - lowerBound <= 1e-12 * max(1, abs(current.objective));
    if (m > n && swapWidth > 0 && !provedOptimal) {
      for (let round = 0; round < swapRounds; round++) {
        const inside = new Set(current.members);
        const insiders = current.members
          .slice()
          .sort((x, y) => (score[y] as number) - (score[x] as number) || x - y)
          .slice(0, swapWidth);
        const outsiders = pool
          .filter((k) => !inside.has(k))
          .sort((x, y) => (score[x] as number) - (score[y] as number) || x - y)
          .slice(0, swapWidth);
        let improved: SetSolution | null = null;
        for (const out of insiders)
          for (const into of outsiders) {
            const trial = current.members.map((k) => (k === out ? into : k));
            const incumbent = improved ?? current;
            const threshold = incumbent.objective - 1e-12 * abs(incumbent.objective);
            if (
              dualBoundReaches(score, trial, base, scoredLambda, threshold) ||
              dualBoundReaches(ctx.overScore, trial, base, overLambda, threshold)
            )
              continue;
            const s = solveFixed(problem, trial, uMinOf, base);
            if (s && s.objective < threshold) improved = s;
          }
        if (!improved) break;
        current = improved;
      }
    }
    if (current.objective < best.objective) best = current;
  }
  return best;
}

/** Working arrays of `searchSets`, indexed by device. */
interface SearchContext {
  readonly problem: SlotProblem;
  readonly uMinOf: Float64Array;
  readonly betaMin: Float64Array;
  readonly low: Float64Array;
  readonly high: Float64Array;
  readonly omega: Float64Array;
  readonly fixedCost: Float64Array;
  readonly uNow: Float64Array;
  readonly betaNow: Float64Array;
  readonly score: Float64Array;
  /** The scores of the last price at the current n whose selection overran the band (λ_lo), and that price. */
  readonly overScore: Float64Array;
  overLambda: number;
  /** M(u_k^min) at the current n. */
  readonly marginalAtMin: Float64Array;
  readonly prices: PriceMemo;
  pool: number[];
  readonly idx: Int32Array;
  n: number;
}

/**
 * Scores φ_k(λ) = min_{β ≥ β^min} Q_k E_k(β) + λβ − bonus_k for the pool and selects the n lowest
 * into ctx.idx[0..n). Returns their bandwidth, Σ φ (the dual value before −λ·band) and a hash of the set.
 */
function scoreAt(ctx: SearchContext, lambda: number): { used: number; value: number; hash: number; stable: boolean } {
  const { problem, pool, uMinOf, betaMin, high, marginalAtMin, omega, fixedCost, uNow, betaNow, score, idx, n } = ctx;
  const memo = ctx.prices.at(lambda, n);
  const snr = problem.prep.snr;
  const m = pool.length;
  for (let i = 0; i < m; i++) {
    const k = pool[i] as number;
    idx[i] = k;
    const w = omega[k] as number;
    const a = snr[k] as number;
    const t = (lambda * a) / w;
    if (w > 0 && (marginalAtMin[k] as number) > t) {
      // above its minimum: u = M⁻¹(t), from the memo when this price was seen (the same numbers)
      let u = memo.u[k] as number;
      let weightedAirtime = memo.weightedAirtime[k] as number;
      if (isNotANumber(u)) {
        const prev = uNow[k] as number;
        const uMin = uMinOf[k] as number;
        u = inverseMarginal(t, prev > 0 && prev < uMin ? prev : uMin);
        weightedAirtime = w * airtimeFactor(u);
        // past INVERSE_GUESS_FREE_T the answer depends on the warm start: not memoised
        if (t <= INVERSE_GUESS_FREE_T) {
          memo.u[k] = u;
          memo.weightedAirtime[k] = weightedAirtime;
        }
      }
      uNow[k] = u;
      const beta = a / u;
      betaNow[k] = beta;
      score[k] = (fixedCost[k] as number) + weightedAirtime + lambda * beta;
    } else {
      // at its minimum fraction: high_k = fixedCost_k + ω_k f(u^min) and β^min = a/u^min, as step 1 computed them
      uNow[k] = uMinOf[k] as number;
      const beta = betaMin[k] as number;
      betaNow[k] = beta;
      score[k] = (high[k] as number) + lambda * beta;
    }
  }
  selectSmallest(idx, 0, m, n, score);
  let used = 0;
  let value = 0;
  let hash = 0;
  let weighted = false;
  let worstInside = -INFINITY;
  for (let i = 0; i < n; i++) {
    const k = idx[i] as number;
    used += betaNow[k] as number;
    value += score[k] as number;
    hash += ((imul(k + 1, 0x9e3779b1) >>> 0) / 4294967296) * (1 + 1e-3 * ((k * 7919) % 1000));
    if ((omega[k] as number) > 0) weighted = true;
    worstInside = max(worstInside, score[k] as number);
  }
  // The selection cannot change below λ when no outsider can ever score below the worst insider
  // (scores only fall with λ, and never below low), and its bandwidth cannot grow (no weighted member).
  let stable = !weighted;
  for (let i = n; stable && i < m; i++) if ((ctx.low[idx[i] as number] as number) < worstInside) stable = false;
  if (used > BAND_BUDGET) {
    for (let i = 0; i < m; i++) ctx.overScore[idx[i] as number] = score[idx[i] as number] as number;
    ctx.overLambda = lambda;
  }
  return { used, value, hash, stable };
}

/**
 * Whether the Lagrangian dual of a fixed set at price λ, base + Σ φ_k(λ) − λ·band (weak duality: a
 * lower bound on its objective, KKT split or not), reaches `threshold`, so that solving its split
 * cannot give an objective below it. φ_k(λ) are `scoreAt`'s scores at λ (NaN λ: no bound). The
 * margin, 1e-9 of the terms' size, dwarfs the rounding of the scores and of the split's objective
 * (~1e-15 relative) and the Newton tolerances (second order in 1e-13), so a set skipped on this
 * test could not have been taken: the search's result is unchanged.
 */
function dualBoundReaches(score: Float64Array, members: readonly number[], base: number, lambda: number, threshold: number): boolean {
  let bound = base - lambda * BAND_BUDGET;
  let size = abs(base) + lambda * BAND_BUDGET;
  for (const k of members) {
    const s = score[k] as number;
    bound += s;
    size += abs(s);
  }
  return bound - 1e-9 * size >= threshold; // false on NaN
}

/** The n devices selected by the last `scoreAt`, in index order. */
function selected(ctx: SearchContext): number[] {
  return Array.from(ctx.idx.subarray(0, ctx.n)).sort((x, y) => x - y);
}

/** Sorts device indices by key (ties by index); fast on nearly sorted input. */
function insertionSort(items: number[], key: Float64Array): void {
  for (let i = 1; i < items.length; i++) {
    const k = items[i] as number;
    const v = key[k] as number;
    let j = i - 1;
    while (j >= 0) {
      const o = items[j] as number;
      const w = key[o] as number;
      if (w < v || (w === v && o < k)) break;
      items[j + 1] = o;
      j--;
    }
    items[j + 1] = k;
  }
}

/** KKT split of a fixed set whose minimum fractions (as u) are in uMinOf. */
function solveFixed(problem: SlotProblem, members: readonly number[], uMinOf: Float64Array, base: number): SetSolution | null {
  const n = members.length;
  const uMin = new Float64Array(n);
  let bonus = 0;
  for (let i = 0; i < n; i++) {
    const k = members[i] as number;
    uMin[i] = uMinOf[k] as number;
    bonus += problem.bonus[k] as number;
  }
  const fractions = new Float64Array(n);
  const cost = solveBandwidthSplit(
    problem.prep,
    { members, size: n, uMin, queues: problem.queues },
    BAND_BUDGET,
    problem.scratch,
    fractions,
  );
  if (!isFiniteNumber(cost)) return null;
  return { members: members.slice(), fractions, objective: base - bonus + cost };
}

/**
 * Devices (sorted by β^min, ties by index) with fewer than n dominators, where i dominates j when
 * it comes first and high_i ≤ low_j. Devices after the n-th one whose high is below every low are
 * all dominated, so the sweep stops there. Fenwick tree over the ranks of `high`. O(m log m).
 */
function dominancePool(sorted: readonly number[], n: number, low: Float64Array, high: Float64Array, minLow: number): number[] {
  let m = sorted.length;
  if (m <= n) return sorted.slice();
  let universal = 0;
  for (let i = 0; i < m; i++) {
    if ((high[sorted[i] as number] as number) <= minLow && ++universal === n) {
      m = i + 1;
      break;
    }
  }
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) values[i] = high[sorted[i] as number] as number;
  values.sort();
  const tree = new Int32Array(m + 1);
  const pool: number[] = [];
  for (let j = 0; j < m; j++) {
    const k = sorted[j] as number;
    const x = low[k] as number;
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((values[mid] as number) <= x) lo = mid + 1;
      else hi = mid;
    }
    let count = 0;
    for (let i = lo; i > 0; i -= i & -i) count += tree[i] as number;
    if (count < n) pool.push(k);
    const y = high[k] as number;
    lo = 0;
    hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((values[mid] as number) < y) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo + 1; i <= m; i += i & -i) tree[i] = (tree[i] as number) + 1;
  }
  return pool;
}
