/**
 * Scheduling policies behind one interface (MODEL.md §6–§7): the Lyapunov optimiser and the
 * baselines, one per file in scheduler/policies/. A policy's state is plain JSON data (a pointer, a
 * generator state) so that a run can be checkpointed; `decide` is pure.
 */
import type { PolicySpec } from './policyChoice';
import type { Decision, SlotInstance } from './instance';
import { createAllPolicy } from './policies/all';
import { createBestChannelPolicy } from './policies/bestChannel';
import { createEnergyGreedyPolicy } from './policies/energyGreedy';
import { createLyapunovPolicy } from './policies/lyapunov';
import { createMyopicPolicy } from './policies/myopic';
import { createRandomPolicy } from './policies/randomBaseline';
import { createRoundRobinPolicy } from './policies/roundRobin';
import { completeDecision, type PluginPolicy } from './plugins/decision';
import { loadModulePolicy } from './plugins/modulePolicy';

/** A scheduling policy: state and observation (the slot's instance) in, decision and next state out. */
export interface Policy<S> {
  /** A built-in name (app/scenario.ts POLICY_NAMES), or a plug-in's own. */
  readonly name: string;
  /** The state before the first slot; `seed` seeds any randomness (util/random.ts). */
  initialState(seed: number): S;
  /** One slot's decision (MODEL.md §2 step 2). Pure: the same arguments give the same result. */
  decide(state: S, instance: SlotInstance, slot: number): { decision: Decision; state: S };
}

/** Options shared by the baselines. */
export interface PolicyOptions {
  /** n for 'random', and the group size of 'round-robin', 'best-channel' and 'energy-greedy'. */
  readonly randomCount: number;
}

/**
 * The policy `spec` names (MODEL.md §6–§7): a built-in one (app/scenario.ts POLICY_NAMES), or
 * one from a module, whose decisions are checked and completed with the reference figures. A
 * process policy is asked by the driver, not here (scheduler/plugins/slotPolicy.ts).
 */
export function createPolicy(spec: PolicySpec, options: PolicyOptions): Policy<unknown> {
  if (!(Number.isInteger(options.randomCount) && options.randomCount >= 1))
    throw new RangeError(`randomCount must be an integer ≥ 1, got ${options.randomCount}`);
  if (typeof spec === 'object')
    return 'module' in spec ? fromModule(loadModulePolicy(spec.module, spec.params)) : answeredByDriver(spec.command);
  const name = spec;
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

/** A module's policy whose decisions are checked against their slot and completed (scheduler/plugins/decision.ts). */
function fromModule(policy: PluginPolicy<unknown>): Policy<unknown> {
  return {
    name: policy.name,
    initialState: (seed) => policy.initialState(seed),
    decide: (state, instance, slot) => {
      const r = policy.decide(state, instance, slot);
      return { decision: completeDecision(instance, r.decision, slot), state: r.state };
    },
  };
}

/** A process policy: no state here; its decisions come from the driver as answers. */
function answeredByDriver(command: readonly string[]): Policy<unknown> {
  return {
    name: command.join(' '),
    initialState: () => null,
    decide: () => {
      throw new Error(`the process policy '${command.join(' ')}' is asked by the driver (an 'ask' effect), never called in place`);
    },
  };
}
