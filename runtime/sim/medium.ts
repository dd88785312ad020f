/**
 * The medium as the driver sees it each slot (MODEL.md §3, and the scenario's faults): the
 * channels' medium (cell and fading), plus link outages (gain 0), silent windows (no report) and
 * dropouts (one seeded draw per device per slot). Its state between slots is the fading state:
 * plain numbers, saved in checkpoints.
 */
import type { Scenario } from '../scenario';
import { RandomStream } from '../random';
import { createMedium, type Medium } from '../../channels/medium';
import type { FadingState } from '../../channels/fading';
import type { GainTrace } from '../../channels/trace';
import type { SlotStart } from '../../actors/protocol';

export interface SlotMedium {
  readonly medium: Medium;
  initialState(): FadingState;
  /** The link state and fault flags of every device in `slot`, and the next fading state. */
  slot(state: FadingState, slot: number): { state: FadingState; starts: SlotStart[] };
}

function inWindow(windows: readonly { device: number; fromSlot: number; toSlot: number }[], device: number, slot: number): boolean {
  return windows.some((w) => w.device === device && slot >= w.fromSlot && slot <= w.toSlot);
}

/** The medium of `scenario` with its faults; `trace` replaces the fading model (replay with another policy). */
export function createSlotMedium(scenario: Scenario, trace?: GainTrace): SlotMedium {
  const root = RandomStream.fromSeed(scenario.seed);
  const faults = root.fork('faults');
  const params = trace ? { ...scenario, channel: { ...scenario.channel, fading: { ...scenario.channel.fading, model: 'trace' as const } } } : scenario;
  const medium = createMedium(params, root.fork('channel'), { trace, slotCount: scenario.training.rounds });
  const f = scenario.faults;
  return {
    medium,
    initialState: () => medium.fading.initialState(),
    slot(state, slot) {
      const [next, frame] = medium.fading.step(state, slot);
      const dropouts = faults.fork(`t${slot}`);
      const starts = frame.gain.map((gain, k): SlotStart => ({
        slot,
        gain: inWindow(f.linkOutages, k, slot) ? 0 : gain,
        reachable: !inWindow(f.silentWindows, k, slot),
        // One draw per device per slot, whatever the probability, so faults never shift other draws.
        dropout: dropouts.fork(`d${k}`).uniform() < f.dropoutProbability,
      }));
      return { state: next, starts };
    },
  };
}
