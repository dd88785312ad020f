/**
 * Exact solvers of the per-slot problem P(t) (MODEL.md §6): every subset, each with its optimal
 * (KKT) split. The reference the tests hold `decide` to.
 *
 * - `enumerate`: all 2^K subsets, no pruning at all (K ≤ 20). O(2^K · K · i_λ · i_u).
 * - `branch-and-bound` (default): for each size n, a depth-first search over the devices that can
 *   meet T_max at n, sorted by β^min(n), which skips only what cannot be optimal:
 *   (i) a partial set whose Σβ^min plus the smallest β^min still needed exceeds the band;
 *   (ii) a partial set I whose lower bound V Φ(n) − Σ_I bonus + G_n(I | band − β needed) + need ·
 *   min(remaining Q E_lo − bonus) is no better than the incumbent. G_n(I | b), the optimal weighted
 *   energy of I alone in a band b, can only grow when devices are added (they take band and add
 *   non-negative energy), which makes (ii) valid. Worst case still exponential; in practice K = 20
 *   takes milliseconds to a second.
 */
import type { Decision, SlotInstance } from './instance';
import {
  createProblem,
  emptySolution,
  evaluateSet,
  penaltyTerm,
  toDecision,
  weightedEnergyBounds,
  type ProblemOptions,
  type SetSolution,
  type SlotProblem,
} from './problem';
import { airtimeSlackS, BAND_BUDGET, deadlineSnr, solveBandwidthSplit } from './bandwidthSplit';
// Math and the numeric globals are bound once: inside a vm context (Jest), every global lookup in a hot loop is slow.
const { min } = Math;
const INFINITY = Number.POSITIVE_INFINITY;
const isFiniteNumber = Number.isFinite;

/** How `solveExact` searches. */
export type ExactMethod = 'enumerate' | 'branch-and-bound';

/** Options of `solveExact`. */
export interface ExactOptions extends ProblemOptions {
  readonly method?: ExactMethod;
}

/** Largest K `enumerate` accepts. */
export const ENUMERATE_LIMIT = 20;

/** Every subset with its KKT split (MODEL.md §6); the minimiser of V·Φ + Σ Q E. */
export function enumerateSets(problem: SlotProblem): SetSolution {
  const k = problem.prep.count;
  if (k > ENUMERATE_LIMIT) throw new RangeError(`enumeration is limited to K ≤ ${ENUMERATE_LIMIT}, got ${k}`);
  let best = emptySolution(problem);
  const members: number[] = [];
  for (let mask = 1; mask < 1 << k; mask++) {
    members.length = 0;
    for (let i = 0; i < k; i++) if (mask & (1 << i)) members.push(i);
    const s = evaluateSet(problem, members);
    if (s && s.objective < best.objective) best = s;
  }
  return best;
}

/** Branch and bound over subsets, exact (MODEL.md §6); see the file's comment for the bounds. */
export function branchAndBound(problem: SlotProblem, incumbent?: SetSolution): SetSolution {
  const { prep, queues, bonus } = problem;
  let best = incumbent && incumbent.objective < emptySolution(problem).objective ? incumbent : emptySolution(problem);
  let alive = problem.candidates.slice();
  const uMinOf = new Float64Array(prep.count);
  for (let n = 1; n <= alive.length; n++) {
    const next: number[] = [];
    for (const k of alive) {
      const u = deadlineSnr(prep, k, airtimeSlackS(prep, k, n));
      if (u > 0) {
        uMinOf[k] = u;
        next.push(k);
      }
    }
    alive = next;
    const m = alive.length;
    if (m < n) break;
    const beta = (k: number) => (prep.snr[k] as number) / (uMinOf[k] as number);
    const items = alive.slice().sort((x, y) => beta(x) - beta(y) || x - y);
    const prefix = new Float64Array(m + 1);
    for (let i = 0; i < m; i++) prefix[i + 1] = (prefix[i] as number) + beta(items[i] as number);
    if ((prefix[n] as number) > BAND_BUDGET) break; // β^min grows with n: no larger set fits either
    const suffixLow = new Float64Array(m + 1).fill(INFINITY);
    for (let i = m - 1; i >= 0; i--) {
      const k = items[i] as number;
      const low = weightedEnergyBounds(problem, k, uMinOf[k] as number)[0] - (bonus[k] as number);
      suffixLow[i] = min(suffixLow[i + 1] as number, low);
    }
    const base = penaltyTerm(problem, n);
    const chosen: number[] = [];
    const chosenU = new Float64Array(n);
    const out = new Float64Array(n);
    const visit = (idx: number, sumBeta: number, bonusIn: number, partialCost: number): void => {
      const need = n - chosen.length;
      if (need === 0) {
        const cost = solveBandwidthSplit(prep, { members: chosen, size: n, uMin: chosenU, queues }, BAND_BUDGET, problem.scratch, out);
        const objective = base - bonusIn + cost;
        if (objective < best.objective) best = { members: chosen.slice(), fractions: out.slice(0, n), objective };
        return;
      }
      if (m - idx < need) return;
      const reserve = (prefix[idx + need] as number) - (prefix[idx] as number);
      if (sumBeta + reserve > BAND_BUDGET) return;
      if (base - bonusIn + partialCost + need * (suffixLow[idx] as number) >= best.objective) return;
      for (let i = idx; i <= m - need; i++) {
        const k = items[i] as number;
        const b = beta(k);
        const restReserve = need > 1 ? (prefix[i + need] as number) - (prefix[i + 1] as number) : 0;
        if (sumBeta + b + restReserve > BAND_BUDGET) break; // sorted: later items are no smaller
        chosen.push(k);
        chosenU[chosen.length - 1] = uMinOf[k] as number;
        let cost = 0;
        if (need > 1 && chosen.length >= 1) {
          cost = solveBandwidthSplit(
            prep,
            { members: chosen, size: chosen.length, uMin: chosenU, queues },
            BAND_BUDGET - restReserve,
            problem.scratch,
            out,
          );
        }
        if (isFiniteNumber(cost)) visit(i + 1, sumBeta + b, bonusIn + (bonus[k] as number), cost);
        chosen.pop();
      }
    };
    visit(0, 0, 0, 0);
  }
  return best;
}

/**
 * The exact decision for small K (MODEL.md §6: "checked against enumerating every subset with the
 * optimal bandwidth split"). `method: 'enumerate'` tries literally every subset.
 */
export function solveExact(instance: SlotInstance, options: ExactOptions = {}): Decision {
  const problem = createProblem(instance, options);
  const solution = options.method === 'enumerate' ? enumerateSets(problem) : branchAndBound(problem);
  return toDecision(problem, solution);
}
