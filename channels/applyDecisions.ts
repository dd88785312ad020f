/** Operator: fading frames in, paired one to one with the scheduler's decisions, link frames out (MODEL.md §3). */
import { map, zip, type Observable, type OperatorFunction } from 'rxjs';
import type { FadingFrame } from './fading';
import { linkStatesForSlot, type LinkFrame } from './linkState';
import type { RadioConstants } from './params';
import { validateDecision, type SliceDecision } from './slices';

/**
 * Pairs the n-th fading frame with the n-th decision, validates the decision (a bad one errors the
 * stream with a `BandwidthError`; a decision's `slot`, when given, must match the frame's) and emits
 * every device's link state for the slot. MODEL.md §3.
 */
export function applyDecisions(decisions$: Observable<SliceDecision>, radio: RadioConstants): OperatorFunction<FadingFrame, LinkFrame> {
  return (frames$) =>
    zip(frames$, decisions$).pipe(
      map(([frame, decision]) => {
        const slices = validateDecision(decision.slot === undefined ? { ...decision, slot: frame.slot } : decision, frame.gain.length);
        return linkStatesForSlot(frame, slices, radio);
      }),
    );
}
