/** Operator: fading frames in, the same frames with the scenario's device faults applied out (link outages, silent windows, dropouts). */
import { map, type OperatorFunction } from 'rxjs';
import type { RandomStream } from '../util/random';
import type { FadingFrame } from './fading';
import type { FaultParams, FaultWindow } from './params';

/** A slot's channel after the faults: outage gains are 0; each device is reachable or silent, and drops out or not. */
export interface FaultedFrame extends FadingFrame {
  /** False while the device is silent (it sends nothing this slot). */
  readonly reachable: readonly boolean[];
  /** True if the device drops out of the round after admission. */
  readonly dropout: readonly boolean[];
}

function inWindow(windows: readonly FaultWindow[], device: number, slot: number): boolean {
  return windows.some((w) => w.device === device && slot >= w.fromSlot && slot <= w.toSlot);
}

/** The faults of one slot on one frame (pure): `random` is the faults' stream; device k in slot t draws from `random.fork('t<t>').fork('d<k>')`. */
export function faultFrame(frame: FadingFrame, faults: FaultParams, random: RandomStream): FaultedFrame {
  const slot = frame.slot;
  const draws = random.fork(`t${slot}`);
  return {
    slot,
    fadingPower: frame.fadingPower,
    gain: frame.gain.map((g, k) => (inWindow(faults.linkOutages, k, slot) ? 0 : g)),
    reachable: frame.gain.map((_, k) => !inWindow(faults.silentWindows, k, slot)),
    // One draw per device per slot, whatever the probability, so faults never shift other draws.
    dropout: frame.gain.map((_, k) => draws.fork(`d${k}`).uniform() < faults.dropoutProbability),
  };
}

/** Applies the scenario's faults to each slot's channel (MODEL.md §2 step 6: dropouts, silence, outages). */
export function applyFaults(faults: FaultParams, random: RandomStream): OperatorFunction<FadingFrame, FaultedFrame> {
  return (frames$) => frames$.pipe(map((frame) => faultFrame(frame, faults, random)));
}
