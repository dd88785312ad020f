/**
 * The Lyapunov scheduler's per-slot decision (MODEL.md §6), after the online algorithm of
 * arXiv 2407.02924 (drift-plus-penalty, M. J. Neely 2010).
 *
 * Algorithm. Devices that did not report (`available: false`), have no link, or miss T_max even
 * with the whole band and n = 1 are set aside. If at most `exactLimit` (default 12) devices remain,
 * the exact branch and bound of scheduler/exact.ts decides (every subset that could be optimal,
 * each with its KKT split); above that, the fast search of scheduler/search.ts (per size n: minimum
 * fractions by Newton, an exact dominance pool, a Lagrangian selection with bisection on the band's
 * price, exact KKT splits of the candidates, swap refinement). Either way the split of the chosen
 * set is the KKT optimum of scheduler/bandwidthSplit.ts and, when no admitted device's energy depends on its
 * share, the band is spread so that the round ends as early as possible.
 *
 * Complexity: exact path O(2^K) worst case (K ≤ 12: < 1 ms typical); fast path
 * O(n_max · (K log K + m · i_bisect · i_u + r² · n · i_λ · i_u)), linear-logarithmic in K for the
 * n_max (≈ 10) devices a 20 MHz band carries; see bench/scheduler.ts.
 */
import { branchAndBound } from './exact';
import type { Decision, SlotDevice, SlotInstance } from './instance';
import { createProblem, toDecision, type ProblemOptions } from './problem';
import { searchSets, type SearchOptions } from './search';

/** The scheduler's state: the virtual energy queues Q_k(t) (MODEL.md §6), joules, in device order. */
export interface EnergyQueues {
  readonly queues: readonly number[];
}

/** What changes every slot (MODEL.md §2 step 1): channel gains, who reported, the round weight. */
export interface SlotObservation {
  /** g_k^t, linear, in device order. */
  readonly gains: readonly number[];
  /** false for a device that did not report in time; default all true. */
  readonly available?: readonly boolean[];
  /** w_t (MODEL.md §5); default 1. */
  readonly weight?: number;
}

/** A device's static parameters. */
export type StaticDevice = Omit<SlotDevice, 'queue' | 'gain' | 'available'>;

/** What does not change from slot to slot: the cell, the payloads, the devices, V. */
export type SlotConstants = Omit<SlotInstance, 'weight' | 'devices'> & { readonly devices: readonly StaticDevice[] };

/** How `decide` searches. */
export interface DecideOptions extends ProblemOptions, SearchOptions {
  /** 'auto' (default): exact up to `exactLimit` candidates, fast search above; or force one. */
  readonly method?: 'auto' | 'exact' | 'search';
  /** Largest number of candidate devices solved exactly in 'auto' (default 12). */
  readonly exactLimit?: number;
}

/** Assembles the per-slot instance of INTERFACE.md from state, observation and parameters. */
export function toSlotInstance(state: EnergyQueues, observation: SlotObservation, params: SlotConstants): SlotInstance {
  const k = params.devices.length;
  if (state.queues.length !== k || observation.gains.length !== k)
    throw new RangeError(`decide: ${k} devices but ${state.queues.length} queues and ${observation.gains.length} gains`);
  return {
    V: params.V,
    weight: observation.weight ?? 1,
    phiEmpty: params.phiEmpty,
    penalty: params.penalty,
    bandwidthHz: params.bandwidthHz,
    downlinkBandwidthHz: params.downlinkBandwidthHz,
    noisePsdDbmPerHz: params.noisePsdDbmPerHz,
    noiseFigureDb: params.noiseFigureDb,
    serverPowerW: params.serverPowerW,
    deadlineS: params.deadlineS,
    serverFlops: params.serverFlops,
    localIterations: params.localIterations,
    kappa: params.kappa,
    payloadBits: params.payloadBits,
    serverFlopsPerIteration: params.serverFlopsPerIteration,
    devices: params.devices.map((d, i) => ({
      ...d,
      queue: state.queues[i] as number,
      gain: observation.gains[i] as number,
      ...(observation.available && observation.available[i] === false ? { available: false } : {}),
    })),
  };
}

/**
 * Solves P(t) of MODEL.md §6 for one instance: the admitted set and fractions minimising
 * V·Φ_t(S) + Σ_{k∈S} Q_k E_k(β_k) s.t. Σβ ≤ 1 and T_k ≤ T_max for every admitted device.
 */
export function decideInstance(instance: SlotInstance, options: DecideOptions = {}): Decision {
  const problem = createProblem(instance, options);
  const method = options.method ?? 'auto';
  const exact = method === 'exact' || (method === 'auto' && problem.candidates.length <= (options.exactLimit ?? 12));
  const solution = exact ? branchAndBound(problem) : searchSets(problem, options);
  return toDecision(problem, solution);
}

/**
 * The Lyapunov decision of MODEL.md §6 from the queues (state), the slot's gains and availability
 * (observation) and the static parameters. Pure; queues are updated separately (`updateQueues`).
 */
export function decide(state: EnergyQueues, observation: SlotObservation, params: SlotConstants, options: DecideOptions = {}): Decision {
  return decideInstance(toSlotInstance(state, observation, params), options);
}

/** `airlora solve-slot`: the Lyapunov decision for one instance (MODEL.md §6, INTERFACE.md). */
export function solveSlot(instance: SlotInstance): Decision {
  return decideInstance(instance);
}
