/**
 * A plug-in's decision (a policy module's or a policy process's) checked against the slot it was
 * made for and completed with the reference figures (MODEL.md §3–§4), so that the log records the
 * same thing a built-in policy making the same choice records.
 */
import { validateDecision } from '../../channels/slices';
import { BandwidthError } from '../../channels/errors';
import type { Decision, SlotInstance } from '../instance';
import { createProblem, evaluateSet, minimumFractions, toDecision } from '../problem';

/**
 * The split a plug-in may leave to the simulator: the band spread over the admitted devices so that
 * they all finish together as early as possible (MODEL.md §6–§7, as the 'best-channel' baseline).
 */
export const EARLIEST_FINISH = 'earliest-finish';

/**
 * What a plug-in answers (INTERFACE.md "Plug-ins"): the admitted ids and their uplink fractions by
 * id, or `'earliest-finish'`; then the order of `admitted` is the policy's ranking (it fixes the
 * order of the split's sums, so a re-implemented baseline matches it bit for bit).
 */
export interface PluginDecision {
  readonly admitted: readonly string[];
  readonly bandwidth: Readonly<Record<string, number>> | typeof EARLIEST_FINISH;
}

/**
 * What a policy module's `createPolicy(params)` returns (README "Plug-ins"): the built-in `Policy`
 * interface, except that a decision needs only `admitted` and `bandwidth` (the figures are computed).
 * `state` must be plain JSON data: it is checkpointed.
 */
export interface PluginPolicy<S = unknown> {
  readonly name: string;
  /** The state before the first slot; `seed` is the run's policy seed. */
  initialState(seed: number): S;
  /** One slot's decision; pure: the same arguments give the same result. `instance` as INTERFACE.md's solve-slot instance. */
  decide(state: S, instance: SlotInstance, slot: number): { decision: PluginDecision; state: S };
}

/** A plug-in's decision that cannot be used in slot `slot`; `problem` says why. */
export class PolicyDecisionError extends Error {
  override readonly name = 'PolicyDecisionError';
  constructor(
    readonly slot: number,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`slot ${slot}: ${problem}`, options);
  }
}

function isDecisionShape(raw: unknown): raw is PluginDecision {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return false;
  const d = raw as { admitted?: unknown; bandwidth?: unknown };
  const table = d.bandwidth !== null && typeof d.bandwidth === 'object' && !Array.isArray(d.bandwidth);
  return Array.isArray(d.admitted) && d.admitted.every((id) => typeof id === 'string') && (table || d.bandwidth === EARLIEST_FINISH);
}

/**
 * Checks `raw` against `instance` (the shape, ids that reported this slot, β ≥ 0, Σβ ≤ 1, β = 0
 * outside S_t: MODEL.md §3) and returns the Decision with energies, latencies, Φ and the objective
 * computed by the reference formulas. A fraction too small for T_max is allowed: that device straggles.
 * Throws PolicyDecisionError naming the slot and the problem.
 */
export function completeDecision(instance: SlotInstance, raw: unknown, slot: number): Decision {
  if (!isDecisionShape(raw))
    throw new PolicyDecisionError(
      slot,
      `not a decision: expected {"admitted": [ids…], "bandwidth": {id: fraction} or "${EARLIEST_FINISH}"}, got ${JSON.stringify(raw)?.slice(0, 200)}`,
    );
  const index = new Map(instance.devices.map((d, i) => [d.id, i]));
  const table = raw.bandwidth === EARLIEST_FINISH ? {} : raw.bandwidth;
  for (const id of [...raw.admitted, ...Object.keys(table)]) {
    const k = index.get(id);
    if (k === undefined)
      throw new PolicyDecisionError(
        slot,
        `unknown device id '${id}' (this slot's instance lists ${instance.devices.length} devices, d0…d${instance.devices.length - 1})`,
      );
    if (instance.devices[k]!.available === false && raw.admitted.includes(id))
      throw new PolicyDecisionError(slot, `device '${id}' did not report this slot (available: false) and cannot be admitted`);
  }
  if (raw.bandwidth === EARLIEST_FINISH)
    return earliestFinish(
      instance,
      raw.admitted.map((id) => index.get(id)!),
      slot,
    );
  try {
    validateDecision({ slot, admitted: raw.admitted, bandwidth: table }, instance.devices.length);
  } catch (e) {
    if (e instanceof BandwidthError) throw new PolicyDecisionError(slot, `infeasible decision: ${e.problem}`, { cause: e });
    throw e;
  }
  const admitted = new Set(raw.admitted);
  const members = instance.devices.flatMap((d, i) => (admitted.has(d.id) ? [i] : []));
  const fractions = Float64Array.from(members, (k) => table[instance.devices[k]!.id] as number);
  return toDecision(createProblem(instance), { members, fractions, objective: Number.NaN }, { spread: false });
}

/** The 'earliest-finish' split of `members` (in the policy's order), with the baselines' problem (queues ignored). */
function earliestFinish(instance: SlotInstance, members: readonly number[], slot: number): Decision {
  if (new Set(members).size !== members.length) throw new PolicyDecisionError(slot, 'infeasible decision: admitted lists a device twice');
  const problem = createProblem(instance, { ignoreQueues: true });
  const solution = evaluateSet(problem, members);
  if (!solution)
    throw new PolicyDecisionError(
      slot,
      `infeasible decision: the admitted devices cannot all meet T_max = ${instance.deadlineS} s within the band (${EARLIEST_FINISH})`,
    );
  return toDecision(problem, solution);
}

/**
 * For plug-in authors: the smallest fractions with which every device of `ids` meets T_max when
 * |ids| devices are admitted (MODEL.md §6, β_k^min), by id; null if one cannot, or they do not fit in the band.
 */
export function minimumBandwidth(instance: SlotInstance, ids: readonly string[]): Record<string, number> | null {
  const index = new Map(instance.devices.map((d, i) => [d.id, i]));
  const members = ids.map((id) => index.get(id));
  if (members.some((k) => k === undefined)) return null;
  const fractions = minimumFractions(createProblem(instance, { ignoreQueues: true }), members as number[]);
  return fractions && Object.fromEntries(ids.map((id, i) => [id, fractions[i] as number]));
}
