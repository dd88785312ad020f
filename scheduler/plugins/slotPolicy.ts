/**
 * One slot's decision whatever the kind of policy (README "Plug-ins"): built-in and module policies
 * decide in place; a process policy cannot (its answer comes over a pipe), so the scheduler asks the
 * driver and handles the same message again with the answer (runtime/actor.ts `ask`). Pure.
 */
import type { PolicySpec } from '../policyChoice';
import type { Decision, SlotInstance } from '../instance';
import { createPolicy, type PolicyOptions } from '../policy';
import { completeDecision } from './decision';

/** What the driver is asked for a process policy: one JSON line `{"slot": t, "instance": {…}}`. */
export interface PolicyQuestion {
  readonly slot: number;
  readonly instance: SlotInstance;
}

/** The decision and the policy's next state, or the question to ask first. */
export type SlotChoice =
  { readonly decision: Decision; readonly state: unknown; readonly ask?: undefined } | { readonly ask: PolicyQuestion };

/** Decides slot `slot` with the policy `spec`; for a process policy, `answer` is the driver's answer to the question returned before. */
export function decideSlot(
  spec: PolicySpec,
  options: PolicyOptions,
  state: unknown,
  instance: SlotInstance,
  slot: number,
  answer?: unknown,
): SlotChoice {
  if (typeof spec === 'object' && 'command' in spec) {
    if (answer === undefined) return { ask: { slot, instance } };
    return { decision: completeDecision(instance, answer, slot), state };
  }
  return createPolicy(spec, options).decide(state, instance, slot);
}
