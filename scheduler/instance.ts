/**
 * The per-slot scheduling problem as data (INTERFACE.md "The per-slot instance"), the decision
 * the scheduler returns, and the validation of an instance read from JSON. Symbols as in MODEL.md;
 * SI units throughout.
 */
import { z } from 'zod';
import type { PayloadBits } from '../channels/transfer';

/** The learning penalty of MODEL.md §5: by admitted count, or weighted by data size. */
export type PenaltyKind = 'count' | 'data';

/** Bits moved per local iteration (activations, features, gradients) and per round (head): the channel's type. MODEL.md §4. */
export type { PayloadBits };

/** One device as the scheduler sees it in one slot. */
export interface SlotDevice {
  readonly id: string;
  /** Virtual energy queue Q_k(t), joules. */
  readonly queue: number;
  /** g_k^t, linear (path loss, shadowing and fading included). */
  readonly gain: number;
  /** p_k, transmit power on its slice. */
  readonly powerW: number;
  /** f_k, clock. */
  readonly cpuHz: number;
  /** c_k. */
  readonly flopsPerCycle: number;
  /** F_k^dev = b (F_emb + 3 F_head). */
  readonly deviceFlopsPerIteration: number;
  /** D_k, local samples (for the data-weighted penalty). */
  readonly dataSize: number;
  /** false when the device did not report in time: it cannot be admitted this slot. Default true. */
  readonly available?: boolean;
}

/** The per-slot problem P(t) of MODEL.md §6, exactly as INTERFACE.md's instance JSON. */
export interface SlotInstance {
  /** Lyapunov trade-off V. */
  readonly V: number;
  /** Round weight w_t. */
  readonly weight: number;
  /** Φ_empty. */
  readonly phiEmpty: number;
  readonly penalty: PenaltyKind;
  readonly bandwidthHz: number;
  readonly downlinkBandwidthHz: number;
  readonly noisePsdDbmPerHz: number;
  readonly noiseFigureDb: number;
  /** P_s, watts. */
  readonly serverPowerW: number;
  /** T_max. */
  readonly deadlineS: number;
  /** F_s, FLOP/s, shared equally among admitted devices. */
  readonly serverFlops: number;
  /** τ. */
  readonly localIterations: number;
  /** κ. */
  readonly kappa: number;
  readonly payloadBits: PayloadBits;
  /** F^srv = b F_enc,train, per device per local iteration. */
  readonly serverFlopsPerIteration: number;
  readonly devices: readonly SlotDevice[];
}

/**
 * A scheduler decision (INTERFACE.md): the admitted set S_t, fractions β_k, and the figures of the
 * decision computed with its own rates (latency uses n = |S_t|). A device not admitted has no entry
 * in `bandwidth`, `energyJ` or `latencyS`.
 */
export interface Decision {
  /** Admitted device ids, in instance order. */
  readonly admitted: string[];
  readonly bandwidth: Record<string, number>;
  /** V·Φ_t(S) + Σ_{k∈S} Q_k E_k for this decision. */
  readonly objective: number;
  /** Φ_t(S) (without V). */
  readonly penalty: number;
  readonly energyJ: Record<string, number>;
  readonly latencyS: Record<string, number>;
  /** Devices that did not report in time (`available: false`): not considered this slot. */
  readonly unavailable?: string[];
  /**
   * Baselines with fixed shares only: devices the policy picked that would miss T_max with their
   * share; they are dropped before the round starts (not admitted, no bandwidth, no energy), and
   * their share is left unused. MODEL.md §7.
   */
  readonly stragglers?: string[];
  /** max_{k∈S} T_k, the round's duration (0 for an empty round). */
  readonly roundLatencyS?: number;
}

/** A malformed instance: names the file, the field and the rule. */
export class SlotInstanceError extends Error {
  override readonly name = 'SlotInstanceError';
  constructor(
    readonly file: string,
    readonly problems: readonly { field: string; rule: string }[],
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problems.map((p) => `${p.field || '(root)'}: ${p.rule}`).join('; ')}`, options);
  }
}

const finite = () => z.number();
const positive = () => z.number().positive();
const nonNegative = () => z.number().nonnegative();

const deviceSchema = z.strictObject({
  id: z.string().min(1),
  queue: nonNegative(),
  gain: nonNegative(),
  powerW: positive(),
  cpuHz: positive(),
  flopsPerCycle: positive(),
  deviceFlopsPerIteration: nonNegative(),
  dataSize: nonNegative(),
  available: z.boolean().optional(),
});

const instanceSchema = z
  .strictObject({
    V: nonNegative(),
    weight: nonNegative(),
    phiEmpty: positive(),
    penalty: z.enum(['count', 'data']),
    bandwidthHz: positive(),
    downlinkBandwidthHz: positive(),
    noisePsdDbmPerHz: finite(),
    noiseFigureDb: nonNegative(),
    serverPowerW: positive(),
    deadlineS: positive(),
    serverFlops: positive(),
    localIterations: z.number().int().min(1),
    kappa: nonNegative(),
    payloadBits: z.strictObject({
      activations: nonNegative(),
      features: nonNegative(),
      gradients: nonNegative(),
      head: nonNegative(),
    }),
    serverFlopsPerIteration: nonNegative(),
    devices: z.array(deviceSchema).min(1),
  })
  .superRefine((inst, ctx) => {
    const seen = new Map<string, number>();
    inst.devices.forEach((d, i) => {
      const first = seen.get(d.id);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `duplicate id '${d.id}' (also devices[${first}].id)` });
      else seen.set(d.id, i);
    });
    if (inst.penalty === 'data' && !(inst.devices.reduce((s, d) => s + d.dataSize, 0) > 0))
      ctx.addIssue({ code: 'custom', path: ['devices'], message: "total dataSize must be > 0 when penalty is 'data'" });
  });

function fieldOf(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/**
 * Validates a parsed JSON value as a per-slot instance (INTERFACE.md); unknown fields are errors.
 * Throws SlotInstanceError listing every problem, each with its field and rule.
 */
export function parseSlotInstance(json: unknown, file = '<instance>'): SlotInstance {
  const result = instanceSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ field: fieldOf([...issue.path, k]), rule: 'unknown field' }));
    return [{ field: fieldOf(issue.path), rule: issue.message }];
  });
  throw new SlotInstanceError(file, problems);
}
