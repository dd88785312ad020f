/**
 * The 'random' baseline (MODEL.md §7): n devices drawn uniformly among the available ones, equal
 * shares; those that cannot meet T_max with their share straggle and are dropped. The generator
 * (util/random.ts) travels in the state, so a checkpointed run draws the same devices.
 */
import { RandomStream, type RandomState } from '../../util/random';
import type { Policy } from '../policy';
import { createProblem, equalShareDecision } from '../problem';

/** State of the random policy: the generator's seed and state. */
export interface RandomPolicyState {
  readonly seed: number;
  readonly generator: RandomState;
}

const STREAM = 'policy/random';

/** The 'random n devices, equal shares' baseline of MODEL.md §7. */
export function createRandomPolicy(count: number): Policy<RandomPolicyState> {
  return {
    name: 'random',
    initialState: (seed) => ({ seed, generator: RandomStream.fromSeed(seed, STREAM).state() }),
    decide: (state, instance) => {
      const stream = RandomStream.fromState(state.seed, STREAM, state.generator);
      const available = instance.devices.map((_, k) => k).filter((k) => instance.devices[k]!.available !== false);
      const picked = stream.shuffle(available).slice(0, count);
      const decision = equalShareDecision(createProblem(instance), picked);
      return { decision, state: { seed: state.seed, generator: stream.state() } };
    },
  };
}
