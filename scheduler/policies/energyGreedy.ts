/**
 * The 'energy-greedy' baseline (MODEL.md §7): cheapest devices first. Devices are ranked by their
 * energy E_k with an equal share 1/n of the band (n = the group size), each added if the set still
 * meets T_max within the band, up to n devices; the band is then split to minimise Σ E_k (the KKT
 * split of scheduler/bandwidthSplit.ts with unit weights). Ignores the queues and the learning penalty.
 */
import { deviceEnergyJ } from '../costs';
import type { Policy } from '../policy';
import { createProblem, evaluateSet, minimumFractions, toDecision } from '../problem';

/** State of the energy-greedy policy: none. */
export type EnergyGreedyState = null;

/** The energy-greedy baseline of MODEL.md §7, up to `count` devices. */
export function createEnergyGreedyPolicy(count: number): Policy<EnergyGreedyState> {
  return {
    name: 'energy-greedy',
    initialState: () => null,
    decide: (state, instance) => {
      const problem = createProblem(instance, { unitQueues: true });
      const share = 1 / Math.max(1, Math.min(count, problem.candidates.length));
      const cost = new Map(problem.candidates.map((k) => [k, deviceEnergyJ(instance, instance.devices[k]!, share)]));
      const order = problem.candidates.slice().sort((x, y) => (cost.get(x) as number) - (cost.get(y) as number) || x - y);
      const chosen: number[] = [];
      for (const k of order) {
        if (chosen.length >= count) break;
        if (minimumFractions(problem, [...chosen, k])) chosen.push(k);
      }
      const solution = evaluateSet(problem, chosen);
      if (!solution) throw new Error('energy-greedy: a set that fits the band could not be split'); // unreachable
      return { decision: toDecision(problem, solution), state };
    },
  };
}
