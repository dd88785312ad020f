/**
 * The 'best-channel' baseline (MODEL.md §7): devices in decreasing order of gain g_k^t, each
 * added if the set still meets T_max within the band (minimum fractions at the new size), up to n
 * devices; the band is then spread so that the round ends as early as possible. Ignores energy.
 */
import type { Policy } from '../policy';
import { createProblem, evaluateSet, minimumFractions, toDecision } from '../problem';

/** State of the best-channel policy: none. */
export type BestChannelState = null;

/** The 'best channel first' baseline of MODEL.md §7, up to `count` devices. */
export function createBestChannelPolicy(count: number): Policy<BestChannelState> {
  return {
    name: 'best-channel',
    initialState: () => null,
    decide: (state, instance) => {
      const problem = createProblem(instance, { ignoreQueues: true });
      const order = problem.candidates.slice().sort((x, y) => instance.devices[y]!.gain - instance.devices[x]!.gain || x - y);
      const chosen: number[] = [];
      for (const k of order) {
        if (chosen.length >= count) break;
        if (minimumFractions(problem, [...chosen, k])) chosen.push(k);
      }
      const solution = evaluateSet(problem, chosen);
      if (!solution) throw new Error('best-channel: a set that fits the band could not be split'); // unreachable
      return { decision: toDecision(problem, solution), state };
    },
  };
}
