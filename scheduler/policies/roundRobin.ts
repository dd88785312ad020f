/**
 * The 'round-robin' baseline (MODEL.md §7): the next n available devices in cyclic order, equal
 * shares; those that cannot meet T_max with their share straggle and are dropped. The pointer
 * (the device index to start from) is the state.
 */
import type { Policy } from '../policy';
import { createProblem, equalShareDecision } from '../problem';

/** State of the round-robin policy. */
export interface RoundRobinState {
  /** Index of the first device to consider in the next slot. */
  readonly next: number;
}

/** The round-robin baseline of MODEL.md §7 with groups of `count`. */
export function createRoundRobinPolicy(count: number): Policy<RoundRobinState> {
  return {
    name: 'round-robin',
    initialState: () => ({ next: 0 }),
    decide: (state, instance) => {
      const k = instance.devices.length;
      const picked: number[] = [];
      let next = state.next % k;
      for (let step = 0; step < k && picked.length < count; step++) {
        const i = (state.next + step) % k;
        if (instance.devices[i]!.available !== false) picked.push(i);
        next = (i + 1) % k;
      }
      return { decision: equalShareDecision(createProblem(instance), picked), state: { next } };
    },
  };
}
