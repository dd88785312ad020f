/**
 * The 'all' baseline (MODEL.md §7): every available device with an equal share of the band; those
 * that cannot meet T_max with it straggle and are dropped (listed under `stragglers`).
 */
import type { Policy } from '../policy';
import { createProblem, equalShareDecision } from '../problem';

/** State of the 'all' policy: none. */
export type AllState = null;

/** The 'all devices, equal shares' baseline of MODEL.md §7. */
export function createAllPolicy(): Policy<AllState> {
  return {
    name: 'all',
    initialState: () => null,
    decide: (state, instance) => {
      const problem = createProblem(instance);
      const picked = instance.devices.map((_, k) => k).filter((k) => instance.devices[k]!.available !== false);
      return { decision: equalShareDecision(problem, picked), state };
    },
  };
}
