/**
 * The slot clock (MODEL.md §2: one round per slot) as an observable. Without a scheduler it emits
 * every slot synchronously; with one (a TestScheduler, or the runtime's virtual-time scheduler)
 * one slot every `periodFrames`. It never reads the wall clock on its own.
 */
import { map, range, take, timer, type Observable, type SchedulerLike } from 'rxjs';

/** One tick of the slot clock. */
export interface SlotTick {
  readonly slot: number;
  /** Virtual time at which the slot starts, s (the simulation's clock; absent on a bare clock). */
  readonly t?: number;
}

/** Options of `createSlotClock`. */
export interface SlotClockOptions {
  /** First slot number (e.g. when resuming). Default 0. */
  readonly firstSlot?: number;
  /** Emit on this scheduler, one slot per period, instead of synchronously. */
  readonly scheduler?: SchedulerLike;
  /** Period in the scheduler's time units. Default 1 (one frame per slot on a TestScheduler). */
  readonly period?: number;
}

/** A stream of `slotCount` slot ticks. MODEL.md §2. */
export function createSlotClock(slotCount: number, options: SlotClockOptions = {}): Observable<SlotTick> {
  if (!(Number.isInteger(slotCount) && slotCount >= 0)) throw new RangeError(`slotCount must be an integer ≥ 0, got ${slotCount}`);
  const first = options.firstSlot ?? 0;
  if (options.scheduler === undefined) return range(first, slotCount).pipe(map((slot) => ({ slot })));
  return timer(0, options.period ?? 1, options.scheduler).pipe(
    take(slotCount),
    map((i) => ({ slot: first + i })),
  );
}
