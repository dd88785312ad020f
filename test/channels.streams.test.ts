/**
 * The medium as streams (MODEL.md §3, §4), on RxJS's TestScheduler with one frame per slot, plus the
 * decision rules (Σβ ≤ 1 and friends) and the hand-worked transfers those streams carry.
 */
import { catchError, map, of, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import fc from 'fast-check';
import { RandomStream } from '../util/random';
import { parseScenario } from '../app/scenario';
import {
  accountTraffic,
  applyDecisions,
  BandwidthError,
  channelGain,
  channelParamsFromScenario,
  connectMedium,
  createMedium,
  createSlotClock,
  dbmToW,
  fadeSlots,
  noisePsdWPerHz,
  pathLossDb,
  roundRequests,
  transmit,
  validateDecision,
  type FadingFrame,
  type LinkFrame,
  type RadioConstants,
  type SliceDecision,
  type TransferBatch,
  type TransferFrame,
  type TrafficLedger,
} from '../channels';

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const errorText = (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`;
const orError = <T>(source$: Observable<T>) => source$.pipe(catchError((e: unknown) => of(errorText(e))));

// Two devices at hand-computed gains (see channels.linkBudget.test.ts): 100 m clear, 500 m shadowed 8 dB with |h|² = 0.5.
const RADIO: RadioConstants = {
  bandwidthHz: 20e6,
  downlinkBandwidthHz: 20e6,
  noisePsdWPerHz: noisePsdWPerHz(-174, 7),
  powerW: dbmToW(23),
  serverPowerW: dbmToW(43),
};
const G0 = channelGain(pathLossDb(100), 0, 1);
const G1 = channelGain(pathLossDb(500), 8, 0.5);
const frame = (slot: number): FadingFrame => ({ slot, fadingPower: [1, 0.5], gain: [G0, G1] });
const both: SliceDecision = { admitted: ['d0', 'd1'], bandwidth: { d0: 0.1, d1: 0.1 } };

describe('validateDecision (MODEL.md §3: Σβ ≤ 1, β = 0 outside S_t)', () => {
  it('returns the fractions in device order, 0 for devices not admitted, the downlink defaulting to the uplink', () => {
    expect(validateDecision({ slot: 4, admitted: ['d2', 'd0'], bandwidth: { d2: 0.25, d0: 0.75 } }, 3)).toEqual({
      slot: 4,
      admitted: [0, 2],
      uplink: [0.75, 0, 0.25],
      downlink: [0.75, 0, 0.25],
    });
    expect(validateDecision({ admitted: [], bandwidth: {} }, 2).uplink).toEqual([0, 0]);
    expect(validateDecision({ admitted: ['1'], bandwidth: { '1': 1 }, downlinkBandwidth: { '1': 0.5 } }, 2).downlink).toEqual([0, 0.5]);
  });
  it.each([
    [
      'Σβ > 1',
      { admitted: ['d0', 'd1'], bandwidth: { d0: 0.6, d1: 0.5 } },
      /slot 3: bandwidth: fractions sum to 1.1, more than the whole band \(Σβ ≤ 1, tolerance 1e-9\)/,
    ],
    ['a negative fraction', { admitted: ['d0'], bandwidth: { d0: -0.2 } }, /bandwidth\[d0\] = -0.2 is a negative bandwidth fraction/],
    ['a NaN fraction', { admitted: ['d0'], bandwidth: { d0: NaN } }, /bandwidth\[d0\] is not a number \(NaN\)/],
    ['a fraction above 1', { admitted: ['d0'], bandwidth: { d0: 1.5 } }, /bandwidth\[d0\] = 1.5 exceeds the whole band/],
    [
      'a fraction for a device not admitted',
      { admitted: ['d0'], bandwidth: { d0: 0.2, d1: 0.1 } },
      /bandwidth\[d1\] = 0.1 is given to a device that is not admitted/,
    ],
    [
      'an admitted device without a fraction',
      { admitted: ['d0', 'd1'], bandwidth: { d0: 0.2 } },
      /bandwidth: admitted device d1 has no bandwidth fraction/,
    ],
    ['an unknown device', { admitted: ['d9'], bandwidth: { d9: 0.2 } }, /admitted: device d9 does not exist \(2 devices\)/],
    ['a malformed id', { admitted: ['phone'], bandwidth: {} }, /admitted: "phone" is not a device id/],
    ['a device admitted twice', { admitted: ['d1', '1'], bandwidth: { d1: 0.2 } }, /admitted: device d1 is listed twice/],
    [
      'a downlink Σβ > 1',
      { admitted: ['d0', 'd1'], bandwidth: { d0: 0.5, d1: 0.5 }, downlinkBandwidth: { d0: 0.9, d1: 0.2 } },
      /downlinkBandwidth: fractions sum to 1.1/,
    ],
  ] as [string, Omit<SliceDecision, 'slot'>, RegExp][])('rejects %s with a BandwidthError naming it', (_what, decision, message) => {
    const call = () => validateDecision({ slot: 3, ...decision }, 2);
    expect(call).toThrow(BandwidthError);
    expect(call).toThrow(message);
  });
  it('accepts Σβ up to 1 + 1e-9 and never scales a decision (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        (raw, total) => {
          const sum = raw.reduce((s, x) => s + x, 0);
          if (sum === 0) return true;
          const beta = raw.map((x) => Math.min(1, (x / sum) * total));
          const decision: SliceDecision = {
            admitted: beta.map((_, k) => `d${k}`),
            bandwidth: Object.fromEntries(beta.map((b, k) => [`d${k}`, b])),
          };
          const actual = beta.reduce((s, x) => s + x, 0);
          if (actual <= 1 + 1e-9) return JSON.stringify(validateDecision(decision, beta.length).uplink) === JSON.stringify(beta);
          try {
            validateDecision(decision, beta.length);
            return false;
          } catch (e) {
            return e instanceof BandwidthError && /fractions sum to/.test((e as Error).message);
          }
        },
      ),
      { seed: 7, numRuns: 500 },
    );
    expect(() => validateDecision({ admitted: ['d0', 'd1'], bandwidth: { d0: 0.5, d1: 0.5 + 5e-10 } }, 2)).not.toThrow();
    expect(() => validateDecision({ admitted: ['d0', 'd1'], bandwidth: { d0: 0.5, d1: 0.5 + 2e-9 } }, 2)).toThrow(BandwidthError);
  });
});

describe('marble tests, one frame per slot', () => {
  const scenario = parseScenario({ devices: { count: 4 }, scheduler: { randomCount: 2 } });
  const medium = createMedium(channelParamsFromScenario(scenario), RandomStream.fromSeed(5).fork('channel'));

  it('the slot clock ticks once per frame; the fading stream equals the plain gainsForSlot', () => {
    newScheduler().run(({ expectObservable }) => {
      const clock$ = createSlotClock(3, { scheduler: undefined });
      expectObservable(clock$).toBe('(abc|)', { a: { slot: 0 }, b: { slot: 1 }, c: { slot: 2 } });
    });
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const clock$ = createSlotClock(3, { scheduler, firstSlot: 10 });
      expectObservable(clock$).toBe('ab(c|)', { a: { slot: 10 }, b: { slot: 11 }, c: { slot: 12 } });
      expectObservable(clock$.pipe(fadeSlots(medium.fading))).toBe('ab(c|)', {
        a: medium.fading.gainsForSlot(10),
        b: medium.fading.gainsForSlot(11),
        c: medium.fading.gainsForSlot(12),
      });
    });
  });

  it('decisions in, link states out: paired by slot, whichever arrives first', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const frames$ = cold<FadingFrame>('a-b-c|', { a: frame(0), b: frame(1), c: frame(2) });
      const decisions$ = cold<SliceDecision>('-x-y--z|', {
        x: both,
        y: { admitted: ['d1'], bandwidth: { d1: 1 } },
        z: { admitted: [], bandwidth: {} },
      });
      const rates$ = frames$.pipe(
        applyDecisions(decisions$, RADIO),
        map((f: LinkFrame) =>
          f.links
            .map(
              (l) => `${f.slot}:${l.admitted ? 'on' : 'off'}:${(l.uplinkRateBps / 1e6).toFixed(4)}:${(l.downlinkRateBps / 1e6).toFixed(4)}`,
            )
            .join(' '),
        ),
      );
      expectObservable(rates$).toBe('-x-y--(z|)', {
        // Hand values: 24.2439 Mbit/s up and 30.8872 down at β = 0.1 and 100 m; at the edge 1.7459 up and
        // 2e6 · log2(1 + 8.31405) = 6.4388 down (downlink SNR = 100 × the full-band uplink SNR 0.0831405).
        x: '0:on:24.2439:30.8872 0:on:1.7459:6.4388',
        y: `1:off:0.0000:0.0000 1:on:${((RADIO.bandwidthHz * Math.log2(1 + (RADIO.powerW * G1) / (RADIO.bandwidthHz * RADIO.noisePsdWPerHz))) / 1e6).toFixed(4)}:64.3882`,
        z: '2:off:0.0000:0.0000 2:off:0.0000:0.0000',
      });
    });
  });

  it('a Σβ > 1 decision errors the link stream with a BandwidthError naming the slot and the sum', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const frames$ = cold<FadingFrame>('a-b-c|', { a: frame(0), b: frame(1), c: frame(2) });
      const decisions$ = cold<SliceDecision>('x-y-z|', {
        x: both,
        y: { admitted: ['d0', 'd1'], bandwidth: { d0: 0.7, d1: 0.4 } },
        z: both,
      });
      expectObservable(
        orError(
          frames$.pipe(
            applyDecisions(decisions$, RADIO),
            map((f) => f.slot),
          ),
        ),
      ).toBe('0-(e|)', {
        0: 0,
        e: 'BandwidthError: slot 1: bandwidth: fractions sum to 1.1, more than the whole band (Σβ ≤ 1, tolerance 1e-9)',
      } as Record<string, unknown>);
    });
  });

  it('a decision for the wrong slot is an error, not silently applied', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const frames$ = cold<FadingFrame>('a|', { a: frame(0) });
      const decisions$ = cold<SliceDecision>('x|', { x: { ...both, slot: 1 } });
      expectObservable(orError(frames$.pipe(applyDecisions(decisions$, RADIO)))).toBe('(e|)', {
        e: 'BandwidthError: slot 0: the decision is for slot 1 but the channel is at slot 0',
      });
    });
  });

  it('transfers out: airtime and energy of each payload (hand values), and the bytes per type per device and slot', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const frames$ = cold<FadingFrame>('a-b|', { a: frame(0), b: frame(1) });
      const decisions$ = cold<SliceDecision>('x-y|', { x: both, y: { admitted: ['d0'], bandwidth: { d0: 0.1 } } });
      const batches$ = cold<TransferBatch>('r-s|', {
        r: {
          slot: 0,
          requests: [
            { device: 0, type: 'activations', direction: 'uplink', bits: 1e6 },
            { device: 1, type: 'features', direction: 'downlink', bits: 2e5 },
          ],
        },
        s: { slot: 1, requests: [{ device: 0, type: 'heads', direction: 'uplink', bits: 4e4 }] },
      });
      const transfers$ = frames$.pipe(applyDecisions(decisions$, RADIO), transmit(batches$, RADIO));
      const summary$ = transfers$.pipe(
        map((f: TransferFrame) =>
          f.completions
            .map((c) => `${c.slot}:d${c.device}:${c.type}:${(c.airtimeS * 1e3).toFixed(4)}ms:${(c.energyJ * 1e3).toFixed(5)}mJ`)
            .join(' '),
        ),
      );
      expectObservable(summary$).toBe('a-b|', {
        // 1 Mbit at 24.2439 Mbit/s: 41.2475 ms, × 0.19953 W = 8.22996 mJ; features down cost the device nothing.
        a: '0:d0:activations:41.2475ms:8.22996mJ 0:d1:features:31.0616ms:0.00000mJ',
        b: `1:d0:heads:${((4e4 / 24243879.3691551) * 1e3).toFixed(4)}ms:${(((0.199526231496888 * 4e4) / 24243879.3691551) * 1e3).toFixed(5)}mJ`,
      });
      const ledger$ = transfers$.pipe(
        accountTraffic(2),
        map((l: TrafficLedger) => ({ slot: l.slot, slot0: l.slotBitsByDevice[0], total: l.totalBits, d1: l.totalBitsByDevice[1] })),
      );
      expectObservable(ledger$).toBe('a-b|', {
        a: {
          slot: 0,
          slot0: { activations: 1e6, features: 0, gradients: 0, heads: 0 },
          total: { activations: 1e6, features: 2e5, gradients: 0, heads: 0 },
          d1: { activations: 0, features: 2e5, gradients: 0, heads: 0 },
        },
        b: {
          slot: 1,
          slot0: { activations: 0, features: 0, gradients: 0, heads: 4e4 },
          total: { activations: 1e6, features: 2e5, gradients: 0, heads: 4e4 },
          d1: { activations: 0, features: 2e5, gradients: 0, heads: 0 },
        },
      });
    });
  });

  it('a transfer for a device without bandwidth, or in the wrong direction, is an error naming it', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const frames$ = cold<FadingFrame>('a|', { a: frame(0) });
      const decisions$ = cold<SliceDecision>('x|', { x: { admitted: ['d0'], bandwidth: { d0: 1 } } });
      const links$ = frames$.pipe(applyDecisions(decisions$, RADIO));
      expectObservable(orError(links$.pipe(transmit(() => [{ device: 1, type: 'heads', direction: 'uplink', bits: 8 }], RADIO)))).toBe(
        '(e|)',
        {
          e: 'TransferError: slot 0: transfer of heads uplink for device d1: the device is not admitted in this slot, it has no bandwidth',
        },
      );
      expectObservable(orError(links$.pipe(transmit(() => [{ device: 0, type: 'features', direction: 'uplink', bits: 8 }], RADIO)))).toBe(
        '(e|)',
        {
          e: 'TransferError: slot 0: transfer of features uplink for device d0: features cannot travel uplink (MODEL.md §2)',
        },
      );
    });
  });

  it('the whole medium wired: the scheduler reads fading$, the round payloads of MODEL.md §4 move, traffic adds up', () => {
    const payload = { activations: 1.1e6, features: 1.1e6, gradients: 1.1e6, head: 4.1e4 };
    const tau = 5;
    // A toy policy: the two strongest devices, half the band each.
    const best2 = (f: FadingFrame): SliceDecision => {
      const order = f.gain
        .map((g, k) => [g, k] as const)
        .sort((a, b) => b[0] - a[0])
        .slice(0, 2)
        .map(([, k]) => `d${k}`);
      return { slot: f.slot, admitted: order, bandwidth: Object.fromEntries(order.map((id) => [id, 0.5])) };
    };
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      const streams = connectMedium(medium, {
        clock$: createSlotClock(3, { scheduler }),
        decisions: (fading$) => fading$.pipe(map(best2)),
        requests: (f) => roundRequests(f.slices, payload, tau),
      });
      const expectedLinks = [0, 1, 2].map((t) => medium.linkStates(t, best2(medium.gainsForSlot(t))));
      expectObservable(streams.links$).toBe('ab(c|)', { a: expectedLinks[0], b: expectedLinks[1], c: expectedLinks[2] });
      const perRound = { activations: 2 * tau * 1.1e6, features: 2 * tau * 1.1e6, gradients: 2 * tau * 1.1e6, heads: 2 * 2 * 4.1e4 };
      expectObservable(streams.traffic$.pipe(map((l) => l.totalBits.activations / perRound.activations))).toBe('ab(c|)', {
        a: 1,
        b: 2,
        c: 3,
      });
      expectObservable(
        streams.transfers$.pipe(
          map((f) => {
            // Uplink airtime of a device = (τ (s_a + s_g) + s_h) / r_ul, MODEL.md §4.
            const k = Number(best2(medium.gainsForSlot(f.slot)).admitted[0]?.slice(1));
            const up = f.completions.filter((c) => c.device === k && c.direction === 'uplink').reduce((s, c) => s + c.airtimeS, 0);
            const rate = medium.linkStates(f.slot, best2(medium.gainsForSlot(f.slot))).links[k]?.uplinkRateBps as number;
            return relErr(up, (tau * (payload.activations + payload.gradients) + payload.head) / rate) < 1e-12;
          }),
        ),
      ).toBe('ab(c|)', { a: true, b: true, c: true });
    });
  });
});

describe('createMedium: the plain per-slot entry point', () => {
  it('takes a scenario directly, and rejects a negative bandwidth naming the field', () => {
    const scenario = parseScenario({});
    const medium = createMedium(scenario, RandomStream.fromSeed(1).fork('channel'));
    expect(medium.cell.deviceCount).toBe(50);
    expect(medium.radio.powerW).toBeCloseTo(0.19953, 5);
    const links = medium.linkStates(0, { admitted: ['d3'], bandwidth: { d3: 1 } });
    expect(links.links[3]?.uplinkRateBps).toBeGreaterThan(0);
    expect(links.links[2]?.uplinkRateBps).toBe(0);
    const bad = { ...scenario, channel: { ...scenario.channel, bandwidthHz: -20e6 } };
    expect(() => createMedium(bad, RandomStream.fromSeed(1))).toThrow('channel.bandwidthHz: must be a finite number > 0 Hz, got -20000000');
  });
});
