/**
 * Transfers over the medium (MODEL.md §4): a payload of s bits from (or to) device k in slot t takes
 * s / r of airtime on its slice; an uplink transfer costs the device p_k · airtime of transmit
 * energy, a downlink one costs the device nothing (the model charges transmit energy only).
 */
import { TransferError } from './errors';
import { airtimeS } from './inverse';
import type { LinkFrame, LinkState } from './linkState';
import type { RadioConstants } from './params';
import type { BandwidthSlices } from './slices';
import type { BitsByType } from './traffic';

/** What crosses a cut (MODEL.md §1, §4): the keys of `BitsByType`. */
export type MessageType = keyof BitsByType;

/** Uplink: device → server; downlink: server → device. */
export type Direction = 'uplink' | 'downlink';

/** The directions each message type travels (MODEL.md §2): activations and cut gradients up, features down, heads both ways. */
export const MESSAGE_DIRECTIONS: Readonly<Record<MessageType, readonly Direction[]>> = {
  activations: ['uplink'],
  features: ['downlink'],
  gradients: ['uplink'],
  heads: ['uplink', 'downlink'],
};

/** A payload to move in a slot. */
export interface TransferRequest {
  readonly device: number;
  readonly type: MessageType;
  readonly direction: Direction;
  readonly bits: number;
}

/** A payload moved: its airtime on the device's slice and the device's transmit energy. MODEL.md §4. */
export interface TransferCompletion extends TransferRequest {
  readonly slot: number;
  readonly rateBps: number;
  /** s / r; Infinity on a dead link (gain 0). */
  readonly airtimeS: number;
  /** p_k · airtime for an uplink transfer, 0 for a downlink one. */
  readonly energyJ: number;
}

/** The requests of one slot. */
export interface TransferBatch {
  readonly slot: number;
  readonly requests: readonly TransferRequest[];
}

/** The completions of one slot, in request order. */
export interface TransferFrame {
  readonly slot: number;
  readonly completions: readonly TransferCompletion[];
}

/** Payload sizes of MODEL.md §4 in bits, as in `solve-slot`'s `payloadBits` (INTERFACE.md). */
export interface PayloadBits {
  /** s_a, per local iteration. */
  readonly activations: number;
  /** s_f, per local iteration. */
  readonly features: number;
  /** s_g, per local iteration. */
  readonly gradients: number;
  /** s_h, once per round each way. */
  readonly head: number;
}

/** What moving a payload over one direction of a link costs. MODEL.md §4. */
export interface TransferCost {
  readonly rateBps: number;
  /** s / r; Infinity on a dead link (rate 0), 0 for an empty payload. */
  readonly airtimeS: number;
  /** p_k · airtime uplink, 0 downlink (the model charges the device's transmit energy only). */
  readonly energyJ: number;
}

/**
 * Airtime s / r and transmit energy p s / r of `bits` sent `direction` on a link's rates (MODEL.md §4).
 * The one place a transfer is charged: the actors (through `completeTransfer`) and the scheduler's
 * prediction (scheduler/costs.ts) both call it.
 */
export function transferCost(
  bits: number,
  direction: Direction,
  link: Pick<LinkState, 'uplinkRateBps' | 'downlinkRateBps'>,
  powerW: number,
): TransferCost {
  const uplink = direction === 'uplink';
  const rateBps = uplink ? link.uplinkRateBps : link.downlinkRateBps;
  const time = airtimeS(bits, rateBps);
  return { rateBps, airtimeS: time, energyJ: uplink && time > 0 ? powerW * time : 0 };
}

/** Throws the TransferError of a request that cannot be charged (its message built only then: completeTransfer runs per transfer). */
function badTransfer(request: TransferRequest, slot: number, problem: string): never {
  throw new TransferError(`transfer of ${request.type} ${request.direction} for device d${request.device}: ${problem}`, slot);
}

/** Airtime and transmit energy of one transfer on a device's link state (checked: type, direction, size, admission). MODEL.md §4. */
export function completeTransfer(request: TransferRequest, link: LinkState, radio: RadioConstants, slot: number): TransferCompletion {
  const { device, type, direction, bits } = request;
  if (!MESSAGE_DIRECTIONS[type]?.includes(direction))
    badTransfer(request, slot, `${String(type)} cannot travel ${direction} (MODEL.md §2)`);
  if (!(bits >= 0 && Number.isFinite(bits))) badTransfer(request, slot, `payload must be a finite number of bits ≥ 0, got ${bits}`);
  if (link.device !== device) badTransfer(request, slot, `given the link of device d${link.device}`);
  if (!link.admitted) badTransfer(request, slot, 'the device is not admitted in this slot, it has no bandwidth');
  const cost = transferCost(bits, direction, link, radio.powerW);
  // Written out, in the log's key order: `{ ...request, slot, ...cost }` took 8.5-12 us a call on V8 11.3 (Node 20), this about 0.1 us.
  return { device, type, direction, bits, slot, rateBps: cost.rateBps, airtimeS: cost.airtimeS, energyJ: cost.energyJ };
}

/** Completes every request of a slot against that slot's link frame. MODEL.md §4. */
export function completeTransfers(frame: LinkFrame, requests: readonly TransferRequest[], radio: RadioConstants): TransferFrame {
  const completions = requests.map((request) => {
    const link = Number.isInteger(request.device) ? frame.links[request.device] : undefined;
    if (link === undefined)
      throw new TransferError(
        `transfer for device ${JSON.stringify(request.device)}: no such device (${frame.links.length} devices)`,
        frame.slot,
      );
    return completeTransfer(request, link, radio, frame.slot);
  });
  return { slot: frame.slot, completions };
}

/**
 * The transfers of one round for every admitted device, in device order (MODEL.md §2, §4): head down
 * (s_h), then τ times activations up (s_a), features down (s_f), cut gradients up (s_g), each
 * lumped into one transfer of τ·s, then head up (s_h).
 */
export function roundRequests(slices: BandwidthSlices, payload: PayloadBits, localIterations: number): TransferRequest[] {
  if (!(Number.isInteger(localIterations) && localIterations >= 1))
    throw new TransferError(`localIterations must be an integer ≥ 1, got ${localIterations}`, slices.slot);
  const tau = localIterations;
  const out: TransferRequest[] = [];
  for (const device of slices.admitted) {
    out.push({ device, type: 'heads', direction: 'downlink', bits: payload.head });
    out.push({ device, type: 'activations', direction: 'uplink', bits: tau * payload.activations });
    out.push({ device, type: 'features', direction: 'downlink', bits: tau * payload.features });
    out.push({ device, type: 'gradients', direction: 'uplink', bits: tau * payload.gradients });
    out.push({ device, type: 'heads', direction: 'uplink', bits: payload.head });
  }
  return out;
}
