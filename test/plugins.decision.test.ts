/**
 * A plug-in's decision checked against its slot and completed (scheduler/plugins/decision.ts):
 * each rule broken by hand, and the figures equal to a built-in policy's for the same choice.
 */
import { RandomStream } from '../util/random';
import {
  completeDecision,
  createPolicy,
  createRandomInstance,
  minimumBandwidth,
  PolicyDecisionError,
  type SlotInstance,
} from '../scheduler';

const base = createRandomInstance(RandomStream.fromSeed(5, 'plugins'), { deviceCount: 4, zeroQueueShare: 0 });
/** d2 did not report this slot. */
const instance: SlotInstance = { ...base, devices: base.devices.map((d, k) => (k === 2 ? { ...d, available: false } : d)) };

describe('completeDecision', () => {
  it.each([
    ['a line that is no decision', { admit: ['d0'] }, /not a decision/],
    ['an unknown id', { admitted: ['d9'], bandwidth: { d9: 0.5 } }, /unknown device id 'd9'/],
    ['a device that did not report', { admitted: ['d2'], bandwidth: { d2: 0.5 } }, /'d2' did not report this slot/],
    ['Σβ > 1', { admitted: ['d0', 'd1'], bandwidth: { d0: 0.7, d1: 0.4 } }, /fractions sum to 1\.1/],
    ['a negative fraction', { admitted: ['d0'], bandwidth: { d0: -0.1 } }, /negative bandwidth fraction/],
    [
      'an admitted device without a fraction',
      { admitted: ['d0', 'd1'], bandwidth: { d0: 0.5 } },
      /admitted device d1 has no bandwidth fraction/,
    ],
    ['a fraction for a device not admitted', { admitted: ['d0'], bandwidth: { d0: 0.5, d1: 0.5 } }, /not admitted/],
  ])('refuses %s, naming the slot', (_what, raw, problem) => {
    expect(() => completeDecision(instance, raw, 7)).toThrow(PolicyDecisionError);
    expect(() => completeDecision(instance, raw, 7)).toThrow(problem);
    expect(() => completeDecision(instance, raw, 7)).toThrow(/^slot 7: /);
  });

  it("gives a built-in policy's decision back unchanged, and 'earliest-finish' the best-channel split", () => {
    const lyapunov = createPolicy('lyapunov', { randomCount: 2 }).decide(null, instance, 0).decision;
    expect(completeDecision(instance, { admitted: lyapunov.admitted, bandwidth: lyapunov.bandwidth }, 0)).toEqual(lyapunov);
    const best = createPolicy('best-channel', { randomCount: 2 }).decide(null, instance, 0).decision;
    const ranked = [...best.admitted].sort(
      (x, y) => instance.devices.find((d) => d.id === y)!.gain - instance.devices.find((d) => d.id === x)!.gain,
    );
    expect(completeDecision(instance, { admitted: ranked, bandwidth: 'earliest-finish' }, 0)).toEqual(best);
  });

  it('lets a fraction too small for T_max through (the device straggles), with its latency over T_max', () => {
    const d = completeDecision(instance, { admitted: ['d0'], bandwidth: { d0: 1e-9 } }, 0);
    expect(d.admitted).toEqual(['d0']);
    expect(d.latencyS['d0']).toBeGreaterThan(instance.deadlineS);
  });

  it('minimumBandwidth: the β_min of a group, null for an unknown id or a silent device', () => {
    const m = minimumBandwidth(instance, ['d0', 'd1']);
    expect(m).not.toBeNull();
    expect(m!['d0']! + m!['d1']!).toBeLessThanOrEqual(1);
    expect(minimumBandwidth(instance, ['d9'])).toBeNull();
    expect(minimumBandwidth(instance, ['d2'])).toBeNull();
  });
});
