/**
 * The live medium of a run (MODEL.md §3, §4 and the scenario's faults): the channels' RxJS pipeline
 * (`connectMedium`: slot clock → fading → faults → the scheduler's decision applied → the charged
 * transfers checked and accounted) driven on the simulation's virtual clock. The driver pushes a
 * tick when a slot starts, the scheduler actor's decision when it arrives, and the transfers the
 * actors charged when the round closes; everything runs synchronously on those pushes, so each
 * answer (or error: a `BandwidthError` for a decision the medium cannot carry) is there when the
 * push returns. Its state between slots is the fading state: plain numbers, saved in checkpoints.
 */
import { Subject } from 'rxjs';
import type { Scenario } from '../scenario';
import { RandomStream } from '../../util/random';
import { connectMedium, createMedium, type Medium } from '../../channels/medium';
import type { FadingState } from '../../channels/fading';
import type { GainTrace } from '../../channels/trace';
import type { FaultedFrame } from '../../channels/applyFaults';
import type { LinkFrame } from '../../channels/linkState';
import type { SliceDecision } from '../../channels/slices';
import type { SlotTick } from '../../channels/slotClock';
import type { TrafficLedger } from '../../channels/traffic';
import type { TransferFrame } from '../../channels/transfer';
import type { SlotStart } from '../../actors/roundMessages';

export interface LiveMedium {
  readonly medium: Medium;
  /** The fading state after the last slot opened (checkpoints). */
  readonly fadingState: FadingState;
  /** Slot `slot` starts at virtual time `t`: every device's channel after the faults. */
  open(slot: number, t: number): SlotStart[];
  /** Applies the scheduler's decision to the open slot: every device's link. Throws `BandwidthError` (MODEL.md §3) before anything uses a bad one. */
  apply(decision: SliceDecision): LinkFrame;
  /** The transfers the actors charged in the slot, checked against its links and accounted (MODEL.md §9). */
  account(frame: TransferFrame): TrafficLedger;
  close(): void;
}

/** The latest value of a stream pushed synchronously, or the error it ended with. */
class Latest<T> {
  value: T | undefined;
  error: unknown;
  take(what: string): T {
    if (this.error !== undefined) throw this.error;
    const v = this.value;
    if (v === undefined) throw new Error(`the live medium gave no ${what}`);
    this.value = undefined;
    return v;
  }
}

/** The live medium of `scenario` from fading state `from`; `trace` replaces the fading model (replay with another policy). */
export function createLiveMedium(scenario: Scenario, from?: FadingState, trace?: GainTrace): LiveMedium {
  const root = RandomStream.fromSeed(scenario.seed);
  const params = trace
    ? { ...scenario, channel: { ...scenario.channel, fading: { ...scenario.channel.fading, model: 'trace' as const, module: undefined } } }
    : scenario;
  const medium = createMedium(params, root.fork('channel'), { trace, slotCount: scenario.training.rounds });
  const clock$ = new Subject<SlotTick>();
  const decisions$ = new Subject<SliceDecision>();
  const charged$ = new Subject<TransferFrame>();
  const streams = connectMedium(medium, {
    clock$,
    decisions: decisions$,
    requests: { charged$ },
    faults: { params: scenario.faults, random: root.fork('faults') },
    ...(from ? { fadingFrom: from } : {}),
  });
  let fadingState = from ?? medium.fading.initialState();
  const faulted = new Latest<FaultedFrame>();
  const links = new Latest<LinkFrame>();
  const traffic = new Latest<TrafficLedger>();
  const subscriptions = [
    streams.fadingState$.subscribe((s) => (fadingState = s)),
    streams.faulted$.subscribe({ next: (f) => (faulted.value = f), error: (e: unknown) => (faulted.error = e) }),
    streams.links$.subscribe({ next: (l) => (links.value = l), error: (e: unknown) => (links.error = e) }),
    streams.traffic$.subscribe({ next: (l) => (traffic.value = l), error: (e: unknown) => (traffic.error = e) }),
  ];
  return {
    medium,
    get fadingState() {
      return fadingState;
    },
    open(slot, t) {
      clock$.next({ slot, t });
      const frame = faulted.take(`channel for slot ${slot}`);
      return frame.gain.map((gain, k): SlotStart => ({
        slot,
        gain,
        reachable: frame.reachable[k] as boolean,
        dropout: frame.dropout[k] as boolean,
      }));
    },
    apply(decision) {
      decisions$.next(decision);
      return links.take(`links for slot ${String(decision.slot)}`);
    },
    account(frame) {
      charged$.next(frame);
      return traffic.take(`traffic for slot ${frame.slot}`);
    },
    close() {
      for (const s of subscriptions) s.unsubscribe();
    },
  };
}
