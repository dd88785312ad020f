/** Operator: slot ticks in, fading frames out (MODEL.md §3), stepping a `FadingProcess` state along the stream. */
import { map, scan, type OperatorFunction } from 'rxjs';
import type { FadingFrame, FadingProcess, FadingState } from './fading';
import type { SlotTick } from './slotClock';

/**
 * Maps each slot tick to the channel of that slot and the fading state after it (what a checkpoint
 * keeps): `process.step` folded over the ticks, starting from `from` or the initial state. MODEL.md §3.
 */
export function fadeSlotsWithState(
  process: FadingProcess,
  from?: FadingState,
): OperatorFunction<SlotTick, readonly [FadingState, FadingFrame]> {
  return (ticks$) =>
    ticks$.pipe(
      scan<SlotTick, readonly [FadingState, FadingFrame | undefined]>(
        ([state], tick) => process.step(state, tick.slot),
        [from ?? process.initialState(), undefined],
      ),
      map(([state, frame]) => [state, frame as FadingFrame] as const),
    );
}

/** Maps each slot tick to the channel of that slot (`fadeSlotsWithState` without the state). MODEL.md §3. */
export function fadeSlots(process: FadingProcess, from?: FadingState): OperatorFunction<SlotTick, FadingFrame> {
  return (ticks$) =>
    ticks$.pipe(
      fadeSlotsWithState(process, from),
      map(([, frame]) => frame),
    );
}
