/**
 * The live medium: the pipeline the simulation runs, slot clock → fading → faults → the
 * scheduler's decision applied → the charged transfers checked and accounted, as marble tests on
 * RxJS's TestScheduler, one frame per slot; and `createLiveMedium`, the driver's handle on it.
 */
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { RandomStream } from '../util/random';
import { parseScenario } from '../app/scenario';
import { createLiveMedium } from '../app/sim/liveMedium';
import {
  BandwidthError,
  channelParamsFromScenario,
  completeTransfer,
  connectMedium,
  createMedium,
  TransferError,
  type FaultParams,
  type LinkFrame,
  type SliceDecision,
  type TransferFrame,
} from '../channels';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const scenario = parseScenario({ devices: { count: 3 }, scheduler: { randomCount: 2 } });
const medium = createMedium(channelParamsFromScenario(scenario), RandomStream.fromSeed(5).fork('channel'));
const ticks = { a: { slot: 0 }, b: { slot: 1 }, c: { slot: 2 } };
const faults: FaultParams = {
  dropoutProbability: 0,
  silentWindows: [{ device: 1, fromSlot: 1, toSlot: 1 }],
  linkOutages: [{ device: 2, fromSlot: 0, toSlot: 1 }],
};
const faultRandom = RandomStream.fromSeed(5).fork('faults');
const half: SliceDecision = { admitted: ['d0', 'd1'], bandwidth: { d0: 0.5, d1: 0.5 } };
const greedy: SliceDecision = { admitted: ['d0', 'd1'], bandwidth: { d0: 0.6, d1: 0.5 } };

describe('the live medium, one frame per slot', () => {
  it('applies each decision to its slot: the links are the hand-checkable rates of the decided fractions', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      // Prepare
      const clock$ = cold('a-b-c|', ticks);
      const decisions$ = cold<SliceDecision>('x-y-z|', {
        x: half,
        y: { admitted: ['d0'], bandwidth: { d0: 1 } },
        z: { admitted: [], bandwidth: {} },
      });
      // Execute
      const streams = connectMedium(medium, { clock$, decisions: decisions$, requests: { charged$: cold('|') } });
      // Assert: the same links as the plain medium gives for the same slot and decision.
      const expected = (slot: number, d: SliceDecision) => medium.linkStates(slot, d);
      expectObservable(streams.links$).toBe('a-b-c|', {
        a: expected(0, half),
        b: expected(1, { admitted: ['d0'], bandwidth: { d0: 1 } }),
        c: expected(2, { admitted: [], bandwidth: {} }),
      });
      expectObservable(streams.links$.pipe(map((l) => l.links.map((x) => x.uplinkFraction)))).toBe('a-b-c|', {
        a: [0.5, 0.5, 0],
        b: [1, 0, 0],
        c: [0, 0, 0],
      });
    });
  });

  it('rejects a Σβ > 1 decision with a BandwidthError in its own frame: no link state of that slot is emitted', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const clock$ = cold('a-b-c|', ticks);
      const decisions$ = cold('x-y-x|', { x: half, y: greedy });
      const streams = connectMedium(medium, { clock$, decisions: decisions$, requests: { charged$: cold('|') } });
      const rejected = new BandwidthError('bandwidth: fractions sum to 1.1, more than the whole band (Σβ ≤ 1, tolerance 1e-9)', 1);
      expectObservable(streams.links$.pipe(map((l) => l.slot))).toBe('a-#', { a: 0 }, rejected);
    });
  });

  it('rejects a decision for an unknown device, or a fraction for a device not admitted, before use', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const clock$ = cold('a|', ticks);
      const unknown = connectMedium(medium, {
        clock$,
        decisions: cold('x|', { x: { admitted: ['d7'], bandwidth: { d7: 0.2 } } }),
        requests: { charged$: cold('|') },
      });
      expectObservable(unknown.links$).toBe('#', undefined, new BandwidthError('admitted: device d7 does not exist (3 devices)', 0));
      const stray = connectMedium(medium, {
        clock$,
        decisions: cold('x|', { x: { admitted: ['d0'], bandwidth: { d0: 0.2, d2: 0.1 } } }),
        requests: { charged$: cold('|') },
      });
      expectObservable(stray.links$).toBe(
        '#',
        undefined,
        new BandwidthError('bandwidth[d2] = 0.1 is given to a device that is not admitted', 0),
      );
    });
  });

  it('applies link outages (gain 0, so rate 0) and silent windows in their slots only', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const clock$ = cold('a-b-c|', ticks);
      const all: SliceDecision = { admitted: ['d0', 'd1', 'd2'], bandwidth: { d0: 0.3, d1: 0.3, d2: 0.3 } };
      const streams = connectMedium(medium, {
        clock$,
        decisions: cold('x-x-x|', { x: all }),
        requests: { charged$: cold('|') },
        faults: { params: faults, random: faultRandom },
      });
      const gains = (slot: number) => medium.fading.gainsForSlot(slot).gain;
      expectObservable(streams.faulted$.pipe(map((f) => ({ gain: f.gain, reachable: f.reachable })))).toBe('a-b-c|', {
        a: { gain: [gains(0)[0], gains(0)[1], 0], reachable: [true, true, true] },
        b: { gain: [gains(1)[0], gains(1)[1], 0], reachable: [true, false, true] },
        c: { gain: gains(2), reachable: [true, true, true] },
      });
      expectObservable(streams.links$.pipe(map((l) => l.links.map((x) => x.uplinkRateBps > 0)))).toBe('a-b-c|', {
        a: [true, true, false],
        b: [true, true, false],
        c: [true, true, true],
      });
    });
  });

  it('checks and accounts the transfers the actors charged on the applied links; one charged on another link errors', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const clock$ = cold('a-b|', ticks);
      const decisions$ = cold('x-x|', { x: half });
      const links = (slot: number): LinkFrame => medium.linkStates(slot, half);
      const charge = (slot: number, link: LinkFrame['links'][number]) =>
        completeTransfer({ device: link.device, type: 'activations', direction: 'uplink', bits: 1e6 }, link, medium.radio, slot);
      const good: TransferFrame = { slot: 0, completions: [charge(0, links(0).links[0]!), charge(0, links(0).links[1]!)] };
      // Slot 1's transfer charged on slot 0's link (another gain): not what the decision gave it.
      const stale: TransferFrame = { slot: 1, completions: [charge(1, links(0).links[0]!)] };
      const streams = connectMedium(medium, { clock$, decisions: decisions$, requests: { charged$: cold('g-s|', { g: good, s: stale }) } });
      expectObservable(streams.traffic$.pipe(map((l) => l.slotBits.activations))).toBe(
        'g-#',
        { g: 2e6 },
        new TransferError(
          `activations uplink of device d0 was charged at ${stale.completions[0]!.rateBps} bit/s in slot 1, its link in the applied decision gives ${links(1).links[0]!.uplinkRateBps} bit/s`,
          1,
        ),
      );
    });
  });
});

describe('createLiveMedium, the driver handle', () => {
  it('opens slots on the virtual clock, applies decisions, and stops at a bad one before it is used', () => {
    // Prepare
    const live = createLiveMedium(parseScenario({ seed: 5, devices: { count: 3 }, scheduler: { randomCount: 2 }, faults }));
    // Execute
    const starts = live.open(0, 0);
    const links = live.apply({ slot: 0, ...half });
    live.open(1, 1.7);
    // Assert
    expect(starts.map((s) => s.gain === 0)).toEqual([false, false, true]);
    expect(links.links.filter((l) => l.admitted).map((l) => l.device)).toEqual([0, 1]);
    expect(live.fadingState.slot).toBe(1);
    expect(() => live.apply({ slot: 1, ...greedy })).toThrow(BandwidthError);
    expect(() => live.apply({ slot: 1, ...greedy })).toThrow(/slot 1: bandwidth: fractions sum to 1.1/);
    live.close();
  });
});
