/**
 * Parameters of the wireless medium (MODEL.md §3). The interfaces mirror the fields of
 * `app/scenario.ts` (`cell.*`, `channel.*`, `devices.count`, `devices.powerDbm`), so a
 * validated scenario can be passed as it is.
 */
import { dbmToW, noisePsdWPerHz } from './linkBudget';

/** The cell geometry: the fields of `scenario.cell`. MODEL.md §3. */
export interface CellParams {
  /** Cell radius R. */
  readonly radiusM: number;
  /** Minimum distance d_min. */
  readonly minDistanceM: number;
  /** Log-normal shadowing standard deviation σ_sh. */
  readonly shadowingDb: number;
}

/** The small-scale fading model: the fields of `scenario.channel.fading`. MODEL.md §3. */
export type FadingModel = 'rayleigh' | 'rician' | 'gauss-markov' | 'trace';

/** Small-scale fading parameters: the fields of `scenario.channel.fading`. MODEL.md §3. */
export interface FadingParams {
  readonly model: FadingModel;
  /** Rician K-factor κ_R (linear). */
  readonly ricianK: number;
  /** Doppler frequency f_D of the Gauss-Markov model. */
  readonly dopplerHz: number;
  /** Slot duration T_slot of the Jakes correlation ρ = J0(2π f_D T_slot). */
  readonly slotS: number;
  /** Recorded trace (CSV or JSON: device, slot, gain) for model 'trace'. */
  readonly tracePath?: string | undefined;
  /** A fading model from a module exporting `createFading(params)` (fadingPlugin.ts); replaces `model`. */
  readonly module?: string | undefined;
  /** Handed to the module's `createFading(params)`. */
  readonly params?: unknown;
}

/** The band and the noise: the fields of `scenario.channel`. MODEL.md §3. */
export interface ChannelParams {
  readonly bandwidthHz: number;
  readonly downlinkBandwidthHz: number;
  readonly noisePsdDbmPerHz: number;
  readonly noiseFigureDb: number;
  readonly serverPowerDbm: number;
  readonly fading: FadingParams;
}

/** What the medium needs of the devices: the fields of `scenario.devices` it reads. */
export interface DeviceRadioParams {
  /** K. */
  readonly count: number;
  /** Transmit power p_k of every device. */
  readonly powerDbm: number;
}

/** Everything the medium reads; a validated `Scenario` is assignable to it. MODEL.md §3. */
export interface MediumParams {
  readonly cell: CellParams;
  readonly channel: ChannelParams;
  readonly devices: DeviceRadioParams;
}

/** The constants of a link budget in SI units, derived once from `MediumParams`. MODEL.md §3. */
export interface RadioConstants {
  /** Uplink band B. */
  readonly bandwidthHz: number;
  /** Downlink band B_dl. */
  readonly downlinkBandwidthHz: number;
  /** Noise PSD N0 (noise figure included). */
  readonly noisePsdWPerHz: number;
  /** Device transmit power p_k. */
  readonly powerW: number;
  /** Server transmit power P_s. */
  readonly serverPowerW: number;
}

/** Picks the medium's parameters out of a scenario (or anything shaped like one). MODEL.md §3, §8. */
export function channelParamsFromScenario(scenario: MediumParams): MediumParams {
  return {
    cell: { radiusM: scenario.cell.radiusM, minDistanceM: scenario.cell.minDistanceM, shadowingDb: scenario.cell.shadowingDb },
    channel: { ...scenario.channel, fading: { ...scenario.channel.fading } },
    devices: { count: scenario.devices.count, powerDbm: scenario.devices.powerDbm },
  };
}

/** Converts the dB/dBm parameters of the band into SI link-budget constants. MODEL.md §3. */
export function radioConstants(params: MediumParams): RadioConstants {
  return {
    bandwidthHz: params.channel.bandwidthHz,
    downlinkBandwidthHz: params.channel.downlinkBandwidthHz,
    noisePsdWPerHz: noisePsdWPerHz(params.channel.noisePsdDbmPerHz, params.channel.noiseFigureDb),
    powerW: dbmToW(params.devices.powerDbm),
    serverPowerW: dbmToW(params.channel.serverPowerDbm),
  };
}

/** The device id used in decisions and logs ('d3' for index 3; MODEL.md §1, k = index). */
export function deviceId(index: number): string {
  return `d${index}`;
}

/** A window of slots [fromSlot, toSlot] (inclusive) in which device `device` is affected. */
export interface FaultWindow {
  readonly device: number;
  readonly fromSlot: number;
  readonly toSlot: number;
}

/** Device faults on the medium: the fields of `scenario.faults`. */
export interface FaultParams {
  /** Probability that an admitted device drops out of a round (one seeded draw per device per slot). */
  readonly dropoutProbability: number;
  /** The device sends nothing (no queue report) in these slots. */
  readonly silentWindows: readonly FaultWindow[];
  /** The device's gain is 0 in these slots. */
  readonly linkOutages: readonly FaultWindow[];
}
