/** The Lyapunov drift-plus-penalty policy (MODEL.md §6): `decide` on every slot; stateless (the queues come in the instance). */
import { decideInstance } from '../decide';
import type { Policy } from '../policy';

/** State of the Lyapunov policy: none (the queues Q_k(t) travel in the instance). */
export type LyapunovState = null;

/** The Lyapunov policy of MODEL.md §6. */
export function createLyapunovPolicy(): Policy<LyapunovState> {
  return {
    name: 'lyapunov',
    initialState: () => null,
    decide: (state, instance) => ({ decision: decideInstance(instance), state }),
  };
}
