/**
 * The myopic baseline (MODEL.md §7): the same per-slot optimiser with V → ∞, i.e. the energy
 * queues are ignored (Q ≡ 0): the most devices (count penalty) or the most data (data penalty)
 * that fit, and the band spread so that the round ends as early as possible. The decision's
 * `objective` is still reported with the instance's own V and Q.
 */
import { decideInstance } from '../decide';
import type { Policy } from '../policy';

/** State of the myopic policy: none. */
export type MyopicState = null;

/** The myopic baseline of MODEL.md §7. */
export function createMyopicPolicy(): Policy<MyopicState> {
  return {
    name: 'myopic',
    initialState: () => null,
    decide: (state, instance) => ({ decision: decideInstance(instance, { ignoreQueues: true }), state }),
  };
}
