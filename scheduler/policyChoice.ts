/**
 * Which scheduling policy a run uses (`scheduler.policy` of a scenario file, INTERFACE.md): a built-in
 * name, a module (README "Plug-ins") or a process. The schema lives with the scheduler so that the
 * scheduler and its actor read the choice without importing the application; app/scenario.ts uses it.
 */
import { z } from 'zod';

const positive = () => z.number().positive();

export const POLICY_NAMES = ['lyapunov', 'all', 'random', 'round-robin', 'best-channel', 'myopic', 'energy-greedy'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** A policy from a module (README "Plug-ins"): `airlora:NAME`, an absolute path, or one relative to the scenario file. */
const modulePolicySchema = z.strictObject({
  module: z.string().min(1),
  /** Handed to the module's `createPolicy(params)`. */
  params: z.unknown().optional(),
});

/** A policy as a process in any language: one JSON line in per slot, one decision line out. */
const commandPolicySchema = z.strictObject({
  command: z.array(z.string().min(1)).min(1),
  /** Longest wait for one slot's answer. */
  timeoutS: positive().default(10),
  /** Working directory of the process; the scenario file's folder when loaded from a file. */
  cwd: z.string().min(1).optional(),
});

/** `scheduler.policy`: a built-in name, a module, or a process. */
export const policySpecSchema = z.union([z.enum(POLICY_NAMES), modulePolicySchema, commandPolicySchema], {
  error: `must be a policy name (${POLICY_NAMES.join(', ')}), { "module": PATH, "params": {…} } or { "command": [PROGRAM, ARGS…], "timeoutS": S }`,
});
export type PolicySpec = z.infer<typeof policySpecSchema>;
export type ModulePolicySpec = z.infer<typeof modulePolicySchema>;
export type CommandPolicySpec = z.infer<typeof commandPolicySchema>;
