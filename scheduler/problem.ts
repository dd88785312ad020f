/**
 * The per-slot problem P(t) of MODEL.md §6 in the form the solvers share: prepared constants,
 * the penalty term V·Φ split into a part that depends on |S| only and a per-device bonus (the
 * data-weighted variant of §5), and the translation of a solution into a Decision.
 */
import { deviceCosts, prepareSlot, type PreparedSlot } from './costs';
import type { Decision, SlotInstance } from './instance';
import { phiCount } from './penalty';
import {
  airtimeFactor,
  airtimeSlackS,
  BAND_BUDGET,
  deadlineSnr,
  solveBandwidthSplit,
  spreadLeftover,
  BandwidthSplitScratch,
} from './bandwidthSplit';

/** P(t) prepared for the solvers. */
export interface SlotProblem {
  readonly instance: SlotInstance;
  readonly prep: PreparedSlot;
  /** Q_k used in the objective (all zero for the myopic optimiser). */
  readonly queues: Float64Array;
  /** V w_t D_k / D for the data variant, 0 for the count variant: what admitting k takes off V·Φ. */
  readonly bonus: Float64Array;
  /** Devices that may be admitted at all: available, with a link, and T_k(1) ≤ T_max with n = 1. */
  readonly candidates: readonly number[];
  /** Indices of devices with `available: false`. */
  readonly unavailable: readonly number[];
  readonly scratch: BandwidthSplitScratch;
}

/** Options of `createProblem`. */
export interface ProblemOptions {
  /** Ignore the energy queues (Q ≡ 0): the myopic optimiser, V → ∞ (MODEL.md §7). */
  readonly ignoreQueues?: boolean;
  /** Weigh every device's energy by 1 instead of Q_k (the energy-greedy baseline's split). */
  readonly unitQueues?: boolean;
}

/** Builds P(t) from an instance (MODEL.md §6). */
export function createProblem(instance: SlotInstance, options: ProblemOptions = {}): SlotProblem {
  const prep = prepareSlot(instance);
  const k = prep.count;
  const queues = new Float64Array(k);
  const bonus = new Float64Array(k);
  let totalData = 0;
  for (const d of instance.devices) totalData += d.dataSize;
  const candidates: number[] = [];
  const unavailable: number[] = [];
  instance.devices.forEach((d, i) => {
    queues[i] = options.ignoreQueues ? 0 : options.unitQueues ? 1 : d.queue;
    if (instance.penalty === 'data' && totalData > 0) bonus[i] = (instance.V * instance.weight * d.dataSize) / totalData;
    if (d.available === false) unavailable.push(i);
    if (prep.usable[i] && deadlineSnr(prep, i, airtimeSlackS(prep, i, 1)) > 0) candidates.push(i);
  });
  return { instance, prep, queues, bonus, candidates, unavailable, scratch: new BandwidthSplitScratch(Math.max(16, k)) };
}

/** V·Φ_t for a set of size n before the per-device bonuses (MODEL.md §5): V Φ_count(n), or V w_t for the data variant (n ≥ 1). */
export function penaltyTerm(problem: SlotProblem, admittedCount: number): number {
  const inst = problem.instance;
  if (inst.penalty === 'data') return inst.V * inst.weight;
  return inst.V * phiCount(admittedCount, inst.devices.length, inst.weight, inst.phiEmpty);
}

/** Q_k E_k at β = ∞ (the least weighted energy k can cost) and at its minimum fraction u = uMin. */
export function weightedEnergyBounds(problem: SlotProblem, k: number, uMin: number): [low: number, high: number] {
  const { prep, queues } = problem;
  const q = queues[k] as number;
  const up = q * (prep.powerW[k] as number) * (prep.cUp[k] as number);
  const base = q * (prep.computeJ[k] as number);
  return [base + up, base + up * airtimeFactor(uMin)];
}

/** A solved set: members (device indices), their fractions (member order), and the objective. */
export interface SetSolution {
  readonly members: number[];
  readonly fractions: Float64Array;
  readonly objective: number;
}

/** The empty decision's solution. */
export function emptySolution(problem: SlotProblem): SetSolution {
  return { members: [], fractions: new Float64Array(0), objective: penaltyTerm(problem, 0) };
}

/**
 * Solves the split for a fixed set (MODEL.md §6): β_k^min at n = |S|, then the KKT split. Returns
 * null when the set is infeasible. The objective is V·Φ + Σ Q_k E_k in the optimiser's form.
 */
export function evaluateSet(problem: SlotProblem, members: readonly number[], budget = BAND_BUDGET): SetSolution | null {
  const n = members.length;
  if (n === 0) return emptySolution(problem);
  const uMin = new Float64Array(n);
  let bonus = 0;
  for (let i = 0; i < n; i++) {
    const k = members[i] as number;
    if (!problem.prep.usable[k]) return null;
    const u = deadlineSnr(problem.prep, k, airtimeSlackS(problem.prep, k, n));
    if (!(u > 0)) return null;
    uMin[i] = u;
    bonus += problem.bonus[k] as number;
  }
  const fractions = new Float64Array(n);
  const cost = solveBandwidthSplit(problem.prep, { members, size: n, uMin, queues: problem.queues }, budget, problem.scratch, fractions);
  if (!Number.isFinite(cost)) return null;
  return { members: [...members], fractions, objective: penaltyTerm(problem, n) - bonus + cost };
}

/**
 * The Decision for a solved set (INTERFACE.md): hands out any leftover band when the split does not
 * change the energy term, then reports every figure with the reference formulas of MODEL.md §4
 * (scheduler/costs.ts) and the instance's own queues and V.
 */
export function toDecision(
  problem: SlotProblem,
  solution: SetSolution,
  extra: { stragglers?: readonly number[]; spread?: boolean } = {},
): Decision {
  const inst = problem.instance;
  const order = solution.members.map((k, i) => [k, i] as const).sort((x, y) => x[0] - y[0]);
  const members = order.map(([k]) => k);
  const fractions = Float64Array.from(order.map(([, i]) => solution.fractions[i] as number));
  const n = members.length;
  if (extra.spread !== false) {
    const insensitive = members.every((k) => !((problem.queues[k] as number) * (problem.prep.cUp[k] as number) > 0));
    if (insensitive) spreadLeftover(problem.prep, members, n, BAND_BUDGET, fractions);
  }
  const bandwidth: Record<string, number> = {};
  const energyJ: Record<string, number> = {};
  const latencyS: Record<string, number> = {};
  let weighted = 0;
  let round = 0;
  members.forEach((k, i) => {
    const d = inst.devices[k]!;
    const beta = fractions[i] as number;
    const c = deviceCosts(inst, d, beta, n);
    bandwidth[d.id] = beta;
    energyJ[d.id] = c.energyJ;
    latencyS[d.id] = c.latencyS;
    weighted += d.queue * c.energyJ;
    round = Math.max(round, c.latencyS);
  });
  const penalty = phiOfMembers(problem, members);
  const decision: Decision = {
    admitted: members.map((k) => inst.devices[k]!.id),
    bandwidth,
    objective: inst.V * penalty + weighted,
    penalty,
    energyJ,
    latencyS,
    roundLatencyS: round,
  };
  const out: { -readonly [P in keyof Decision]: Decision[P] } = decision;
  if (problem.unavailable.length > 0) out.unavailable = problem.unavailable.map((k) => inst.devices[k]!.id);
  if (extra.stragglers && extra.stragglers.length > 0)
    out.stragglers = [...extra.stragglers].sort((x, y) => x - y).map((k) => inst.devices[k]!.id);
  return decision;
}

/** Φ_t(S) for members given by index (MODEL.md §5), data sums in index order. */
export function phiOfMembers(problem: SlotProblem, members: readonly number[]): number {
  const inst = problem.instance;
  if (inst.penalty === 'count') return phiCount(members.length, inst.devices.length, inst.weight, inst.phiEmpty);
  let total = 0;
  for (const d of inst.devices) total += d.dataSize;
  const inside = new Set(members);
  let outside = 0;
  inst.devices.forEach((d, i) => {
    if (!inside.has(i)) outside += d.dataSize;
  });
  return total > 0 ? (inst.weight * outside) / total : 0;
}

/** Minimum fractions (MODEL.md §6) of `members` at n = |members|, or null if one misses T_max or they do not fit in the band. */
export function minimumFractions(problem: SlotProblem, members: readonly number[]): number[] | null {
  const n = members.length;
  const out: number[] = [];
  let sum = 0;
  for (const k of members) {
    if (!problem.prep.usable[k]) return null;
    const u = deadlineSnr(problem.prep, k, airtimeSlackS(problem.prep, k, n));
    if (!(u > 0)) return null;
    const beta = (problem.prep.snr[k] as number) / u;
    sum += beta;
    out.push(beta);
  }
  return sum <= BAND_BUDGET ? out : null;
}

/**
 * Equal shares for the devices a baseline picked (MODEL.md §7): each gets 1/N of the band; those
 * that would miss T_max with it (n = N) straggle and are dropped before the round starts; their
 * share stays unused. The admitted devices' figures are then reported with n = |admitted|.
 */
export function equalShareDecision(problem: SlotProblem, picked: readonly number[]): Decision {
  const inst = problem.instance;
  const count = picked.length;
  const share = count > 0 ? BAND_BUDGET / count : 0;
  const admitted: number[] = [];
  const stragglers: number[] = [];
  for (const k of picked) {
    const latency = problem.prep.usable[k] ? deviceCosts(inst, inst.devices[k]!, share, count).latencyS : Infinity;
    if (latency <= inst.deadlineS) admitted.push(k);
    else stragglers.push(k);
  }
  const solution: SetSolution = { members: admitted, fractions: Float64Array.from(admitted, () => share), objective: NaN };
  return toDecision(problem, solution, { stragglers, spread: false });
}
