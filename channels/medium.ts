/**
 * The medium as a whole (MODEL.md §3, §4): the plain, synchronous entry point the simulation driver
 * calls each slot (`createMedium` → cell, fading process, `linkStates(slot, decision)`), and the same
 * pipeline wired as streams (`connectMedium`: clock in, decisions in, link states and transfers out).
 */
import { map, share, type Observable } from 'rxjs';
import { RandomStream } from '../util/random';
import { applyFaults, type FaultedFrame } from './applyFaults';
import { accountTraffic } from './accountTraffic';
import { applyDecisions } from './applyDecisions';
import { ChannelParamsError } from './errors';
import { fadeSlotsWithState } from './fadeSlots';
import {
  createFadingProcess,
  validateFadingParams,
  type FadingFrame,
  type FadingOptions,
  type FadingProcess,
  type FadingState,
} from './fading';
import { createCell, validateCellParams, type Cell } from './geometry';
import type { DeviceLink } from './inverse';
import { linkStatesForSlot, type LinkFrame } from './linkState';
import { radioConstants, type FaultParams, type MediumParams, type RadioConstants } from './params';
import { validateDecision, type SliceDecision } from './slices';
import type { SlotTick } from './slotClock';
import type { TrafficLedger } from './traffic';
import { chargedTransfers, transmit } from './transmit';
import type { TransferBatch, TransferFrame, TransferRequest } from './transfer';

/** Checks every parameter of the medium, naming the field and the rule (e.g. a negative bandwidth). MODEL.md §3. */
export function validateMediumParams(params: MediumParams): void {
  const { channel, devices } = params;
  const positiveFinite = (field: string, value: number, unit: string) => {
    if (!(value > 0 && Number.isFinite(value))) throw new ChannelParamsError(field, `must be a finite number > 0 ${unit}, got ${value}`);
  };
  const finite = (field: string, value: number, unit: string) => {
    if (!Number.isFinite(value)) throw new ChannelParamsError(field, `must be a finite number (${unit}), got ${value}`);
  };
  positiveFinite('channel.bandwidthHz', channel.bandwidthHz, 'Hz');
  positiveFinite('channel.downlinkBandwidthHz', channel.downlinkBandwidthHz, 'Hz');
  finite('channel.noisePsdDbmPerHz', channel.noisePsdDbmPerHz, 'dBm/Hz');
  finite('channel.noiseFigureDb', channel.noiseFigureDb, 'dB');
  if (channel.noiseFigureDb < 0) throw new ChannelParamsError('channel.noiseFigureDb', `must be ≥ 0 dB, got ${channel.noiseFigureDb}`);
  finite('channel.serverPowerDbm', channel.serverPowerDbm, 'dBm');
  finite('devices.powerDbm', devices.powerDbm, 'dBm');
  if (!(Number.isInteger(devices.count) && devices.count >= 1))
    throw new ChannelParamsError('devices.count', `must be an integer ≥ 1, got ${devices.count}`);
  validateCellParams(params.cell);
  validateFadingParams(channel.fading);
}

/** The medium of one run: drawn once, then asked slot by slot. MODEL.md §3. */
export interface Medium {
  readonly params: MediumParams;
  readonly radio: RadioConstants;
  readonly cell: Cell;
  readonly fading: FadingProcess;
  /** The channel of `slot` (the gains the devices report to the scheduler, MODEL.md §2 step 1). */
  gainsForSlot(slot: number): FadingFrame;
  /** Validates `decision` and gives every device's link state in `slot`. Throws `BandwidthError`. */
  linkStates(slot: number, decision: SliceDecision): LinkFrame;
  /** Device k's link with gain g, for the inverse problems of inverse.ts. */
  deviceLink(gain: number): DeviceLink;
}

/**
 * Validates the parameters and draws the cell and the fading process. `random` is the channel's
 * stream, e.g. `root.fork('channel')`. MODEL.md §3.
 */
export function createMedium(params: MediumParams, random: RandomStream, options: FadingOptions = {}): Medium {
  validateMediumParams(params);
  const radio = radioConstants(params);
  const cell = createCell(params.cell, params.devices.count, random);
  const fading = createFadingProcess(params.channel.fading, cell, random, options);
  return {
    params,
    radio,
    cell,
    fading,
    gainsForSlot: (slot) => fading.gainsForSlot(slot),
    linkStates(slot, decision) {
      const slices = validateDecision(decision.slot === undefined ? { ...decision, slot } : decision, cell.deviceCount);
      return linkStatesForSlot(fading.gainsForSlot(slot), slices, radio);
    },
    deviceLink: (gain) => ({ ...radio, gain }),
  };
}

/** The streams of a connected medium. MODEL.md §3, §4, §9. */
export interface MediumStreams {
  readonly fading$: Observable<FadingFrame>;
  /** The fading state after each slot (what a checkpoint keeps). */
  readonly fadingState$: Observable<FadingState>;
  /** The channel after the faults (the frame the decisions are applied to). */
  readonly faulted$: Observable<FaultedFrame>;
  readonly links$: Observable<LinkFrame>;
  readonly transfers$: Observable<TransferFrame>;
  readonly traffic$: Observable<TrafficLedger>;
}

/** Inputs of `connectMedium`. */
export interface MediumInputs {
  readonly clock$: Observable<SlotTick>;
  /** The scheduler's decisions, one per slot (typically computed from `fading$`). */
  readonly decisions: Observable<SliceDecision> | ((fading$: Observable<FadingFrame>) => Observable<SliceDecision>);
  /**
   * What moves each slot: requests the medium completes (a stream of batches or a function of the
   * link frame), or `{ charged$ }`: the transfers the actors charged themselves on the links they
   * were given, checked against the applied decision (`chargedTransfers`).
   */
  readonly requests:
    Observable<TransferBatch> | ((frame: LinkFrame) => readonly TransferRequest[]) | { readonly charged$: Observable<TransferFrame> };
  /** Device faults (outages, silent windows, dropouts) and their stream; none if absent. */
  readonly faults?: { readonly params: FaultParams; readonly random: RandomStream };
  /** A checkpointed fading state to start from. */
  readonly fadingFrom?: FadingState;
}

const NO_FAULTS: FaultParams = { dropoutProbability: 0, silentWindows: [], linkOutages: [] };

/**
 * Wires the operators: clock → `fadeSlots` → `applyFaults` → `applyDecisions` → `transmit` (or
 * `chargedTransfers`) → `accountTraffic`. Shared stages, so a scheduler that reads `fading$` and
 * the link states see the same frames. MODEL.md §3, §4.
 */
export function connectMedium(medium: Medium, inputs: MediumInputs): MediumStreams {
  const faded$ = inputs.clock$.pipe(fadeSlotsWithState(medium.fading, inputs.fadingFrom), share());
  const fading$ = faded$.pipe(map(([, frame]) => frame));
  const fadingState$ = faded$.pipe(map(([state]) => state));
  // Without faults the stream is never drawn from: a fresh stream stands in.
  const faults = inputs.faults ?? { params: NO_FAULTS, random: RandomStream.fromSeed(0) };
  const faulted$ = fading$.pipe(applyFaults(faults.params, faults.random), share());
  const decisions$ = typeof inputs.decisions === 'function' ? inputs.decisions(fading$) : inputs.decisions;
  const links$ = faulted$.pipe(applyDecisions(decisions$, medium.radio), share());
  const requests = inputs.requests;
  const transfers$ = links$.pipe(
    typeof requests === 'object' && 'charged$' in requests
      ? chargedTransfers(requests.charged$, medium.radio)
      : transmit(requests, medium.radio),
    share(),
  );
  const traffic$ = transfers$.pipe(accountTraffic(medium.cell.deviceCount));
  return { fading$, fadingState$, faulted$, links$, transfers$, traffic$ };
}
