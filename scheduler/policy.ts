/**
 * Scheduling policies behind one interface (MODEL.md §6–§7): the Lyapunov optimiser and the
 * baselines, one per file in scheduler/policies/. A policy's state is plain JSON data (a pointer, a
 * generator state) so that a run can be checkpointed; `decide` is pure.
 */
import type { PolicyName } from '../runtime/scenario';
import type { Decision, SlotInstance } from './instance';
import { createAllPolicy } from './policies/all';
import { createBestChannelPolicy } from './policies/bestChannel';
import { createEnergyGreedyPolicy } from './policies/energyGreedy';
import { createLyapunovPolicy } from './policies/lyapunov';
import { createMyopicPolicy } from './policies/myopic';
import { createRandomPolicy } from './policies/random';
import { createRoundRobinPolicy } from './policies/roundRobin';

/** A scheduling policy: state and observation (the slot's instance) in, decision and next state out. */
export interface Policy<S> {
  readonly name: PolicyName;
  /** The state before the first slot; `seed` seeds any randomness (runtime/random.ts). */
  initialState(seed: number): S;
  /** One slot's decision (MODEL.md §2 step 2). Pure: the same arguments give the same result. */
  decide(state: S, instance: SlotInstance, slot: number): { decision: Decision; state: S };
}

/** Options shared by the baselines. */
export interface PolicyOptions {
  /** n for 'random', and the group size of 'round-robin', 'best-channel' and 'energy-greedy'. */
  readonly randomCount: number;
}

/** The policy called `name` (runtime/scenario.ts POLICY_NAMES; MODEL.md §6–§7). */
export function createPolicy(name: PolicyName, options: PolicyOptions): Policy<unknown> {
  if (!(Number.isInteger(options.randomCount) && options.randomCount >= 1))
    throw new RangeError(`randomCount must be an integer ≥ 1, got ${options.randomCount}`);
  switch (name) {
    case 'lyapunov':
      return createLyapunovPolicy() as Policy<unknown>;
    case 'all':
      return createAllPolicy() as Policy<unknown>;
    case 'random':
      return createRandomPolicy(options.randomCount) as Policy<unknown>;
    case 'round-robin':
      return createRoundRobinPolicy(options.randomCount) as Policy<unknown>;
    case 'best-channel':
      return createBestChannelPolicy(options.randomCount) as Policy<unknown>;
    case 'myopic':
      return createMyopicPolicy() as Policy<unknown>;
    case 'energy-greedy':
      return createEnergyGreedyPolicy(options.randomCount) as Policy<unknown>;
    default: {
      const never: never = name;
      throw new RangeError(`unknown policy '${String(never)}'`);
    }
  }
}
