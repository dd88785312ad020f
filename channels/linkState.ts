/**
 * Link states of one slot (MODEL.md §3): the fading frame and the scheduler's slices give each
 * device its gain, its fractions and its uplink and downlink Shannon rates.
 */
import { BandwidthError } from './errors';
import type { FadingFrame } from './fading';
import { downlinkRateBps, uplinkRateBps } from './linkBudget';
import type { RadioConstants } from './params';
import type { BandwidthSlices } from './slices';

/** One device's link in one slot. Devices not admitted have fractions and rates 0. MODEL.md §3. */
export interface LinkState {
  readonly device: number;
  readonly admitted: boolean;
  /** g_k^t. */
  readonly gain: number;
  /** |h_k^t|². */
  readonly fadingPower: number;
  readonly uplinkFraction: number;
  readonly downlinkFraction: number;
  /** r^ul(β_k). */
  readonly uplinkRateBps: number;
  /** r^dl(β_k). */
  readonly downlinkRateBps: number;
}

/** Every device's link in one slot, in device order, with the slices that produced them. MODEL.md §3. */
export interface LinkFrame {
  readonly slot: number;
  readonly slices: BandwidthSlices;
  readonly links: readonly LinkState[];
}

/**
 * Applies validated slices to a fading frame: r^ul = β B log2(1 + p g/(β B N0)) and
 * r^dl = β B_dl log2(1 + P_s g/(B_dl N0)) per device. MODEL.md §3.
 */
export function linkStatesForSlot(frame: FadingFrame, slices: BandwidthSlices, radio: RadioConstants): LinkFrame {
  if (slices.slot !== undefined && slices.slot !== frame.slot)
    throw new BandwidthError(`the decision is for slot ${slices.slot} but the channel is at slot ${frame.slot}`, frame.slot);
  const K = frame.gain.length;
  if (slices.uplink.length !== K)
    throw new BandwidthError(`the decision covers ${slices.uplink.length} devices, the channel has ${K}`, frame.slot);
  const admitted = new Set(slices.admitted);
  const links: LinkState[] = [];
  for (let k = 0; k < K; k++)
    links.push(
      linkStateOf(
        k,
        admitted.has(k),
        frame.gain[k] as number,
        frame.fadingPower[k] as number,
        slices.uplink[k] as number,
        slices.downlink[k] as number,
        radio,
      ),
    );
  return { slot: frame.slot, slices, links };
}

/**
 * One device's link: r^ul = β B log2(1 + p g/(β B N0)) and r^dl = β_dl B_dl log2(1 + P_s g/(B_dl N0)).
 * The link states of a slot and the scheduler's prediction (scheduler/costs.ts) both come from here. MODEL.md §3.
 */
export function linkStateOf(
  device: number,
  admitted: boolean,
  gain: number,
  fadingPower: number,
  uplinkFraction: number,
  downlinkFraction: number,
  radio: RadioConstants,
): LinkState {
  return {
    device,
    admitted,
    gain,
    fadingPower,
    uplinkFraction,
    downlinkFraction,
    uplinkRateBps: uplinkRateBps(uplinkFraction, radio.bandwidthHz, radio.powerW, gain, radio.noisePsdWPerHz),
    downlinkRateBps: downlinkRateBps(downlinkFraction, radio.downlinkBandwidthHz, radio.serverPowerW, gain, radio.noisePsdWPerHz),
  };
}
