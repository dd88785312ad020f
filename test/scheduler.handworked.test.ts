/**
 * Hand-worked scheduling cases, MODEL.md §4–§6. Every expected set and fraction
 * below is derived in the comments from the formulas, in Prepare / Execute / Assert form.
 */
import { noisePsdWPerHz } from '../channels/linkBudget';
import { deviceLatencyS, phiCount, solveSlot, updateQueues, type SlotDevice, type SlotInstance } from '../scheduler';
import { solveExact } from '../scheduler/exact';

const N0 = noisePsdWPerHz(-174, 7); // 10^((−174 + 7 − 30)/10) = 1.99526e-20 W/Hz

/** A cell of 1 MHz up and down, no server load, τ = 1, κ = 0 unless overridden. */
function cell(overrides: Partial<SlotInstance>, devices: SlotDevice[]): SlotInstance {
  return {
    V: 1,
    weight: 1,
    phiEmpty: 2,
    penalty: 'count',
    bandwidthHz: 1e6,
    downlinkBandwidthHz: 1e6,
    noisePsdDbmPerHz: -174,
    noiseFigureDb: 7,
    serverPowerW: 1,
    deadlineS: 5,
    serverFlops: 1e12,
    localIterations: 1,
    kappa: 0,
    payloadBits: { activations: 0, features: 0, gradients: 0, head: 0 },
    serverFlopsPerIteration: 0,
    ...overrides,
    devices,
  };
}

function device(id: string, over: Partial<SlotDevice>): SlotDevice {
  // f c = 1.6e10 FLOP/s, so t_dev = F_dev / 1.6e10 s with τ = 1.
  return { id, queue: 0, gain: 0, powerW: 0.2, cpuHz: 1e9, flopsPerCycle: 16, deviceFlopsPerIteration: 0, dataSize: 100, ...over };
}

describe('downlink-only cases (latency t_dev + 1/β, energy independent of β)', () => {
  // Downlink: P_s g/(B_dl N0) = 1 with g = B_dl N0 / P_s, so r_dl = β B_dl log2(2) = β·1e6 bit/s;
  // 1e6 feature bits per round take 1/β s. No uplink bits: E_k is the compute energy only.
  const g = (1e6 * N0) / 1;
  const payloadBits = { activations: 0, features: 1e6, gradients: 0, head: 0 };

  it('2 devices, empty queues: both admitted, band spread so both finish together', () => {
    // Prepare. t_dev: d0 1 s, d1 3 s; T_max = 5 s, so β0_min = 1/(5−1) = 0.25, β1_min = 1/(5−3) = 0.5 (fit: 0.75 ≤ 1).
    const inst = cell({ payloadBits }, [
      device('d0', { gain: g, deviceFlopsPerIteration: 1.6e10 }),
      device('d1', { gain: g, deviceFlopsPerIteration: 4.8e10 }),
    ]);
    // Execute.
    const d = solveSlot(inst);
    // Assert. Φ(2) = 0 < Φ(1) = 1 and Q = 0: both. Leftover spread to a common finish T*:
    // 1 + 1/β0 = 3 + 1/β1 = T*, β0 + β1 = 1 ⇒ 1/(T−1) + 1/(T−3) = 1 ⇒ T² − 6T + 7 = 0 ⇒ T* = 3 + √2 = 4.41421 s,
    // β0 = 1/(2 + √2) = 0.292893, β1 = 1/√2 = 0.707107.
    expect(d.admitted).toEqual(['d0', 'd1']);
    expect(d.bandwidth.d0).toBeCloseTo(1 / (2 + Math.SQRT2), 9);
    expect(d.bandwidth.d1).toBeCloseTo(Math.SQRT1_2, 9);
    expect(d.latencyS.d0).toBeCloseTo(3 + Math.SQRT2, 8);
    expect(d.latencyS.d1).toBeCloseTo(3 + Math.SQRT2, 8);
    expect(d.objective).toBeCloseTo(0, 12);
    expect(d.penalty).toBe(0);
  });

  it('2 devices, one misses T_max even with the whole band: never admitted', () => {
    // Prepare. d1: t_dev = 4.2 s, so T(1) = 4.2 + 1 = 5.2 s > T_max = 5 s.
    const inst = cell({ payloadBits }, [
      device('d0', { gain: g, deviceFlopsPerIteration: 1.6e10 }),
      device('d1', { gain: g, deviceFlopsPerIteration: 4.2 * 1.6e10 }),
    ]);
    expect(deviceLatencyS(inst, inst.devices[1]!, 1, 1)).toBeCloseTo(5.2, 12);
    // Execute.
    const d = solveSlot(inst);
    // Assert. {d0} with the whole band (leftover spread): T = 1 + 1/1 = 2 s; objective V Φ(1) = 1·1.
    expect(d.admitted).toEqual(['d0']);
    expect(d.bandwidth.d0).toBeCloseTo(1, 9);
    expect(d.latencyS.d0).toBeCloseTo(2, 9);
    expect(d.objective).toBeCloseTo(1, 12);
  });

  it('3 devices: V decides whether the expensive third device is worth it', () => {
    // Prepare. Three identical devices, t_dev = 1 s (β_min = 1/(5−1) = 0.25 each, all three fit),
    // κ = 1e-28 so E_k = κ τ F f²/c = 1e-28 · 1.6e10 · 1e18 / 16 = 0.1 J each. Q = (0, 1, 5).
    // Φ (K = 3, w = 1): Φ(3) = 0, Φ(2) = 1/(2·2) = 0.25, Φ(1) = 1.
    const devices = [0, 1, 5].map((q, i) => device(`d${i}`, { gain: g, deviceFlopsPerIteration: 1.6e10, queue: q }));
    expect(phiCount(2, 3, 1, 2)).toBe(0.25);
    // V = 1: {d0} 1; {d0,d1} 0.25 + 1·0.1 = 0.35; {d0,d2} 0.25 + 0.5 = 0.75; all 0 + 0.1 + 0.5 = 0.6 ⇒ {d0, d1}.
    const low = solveSlot(cell({ payloadBits, kappa: 1e-28, V: 1 }, devices));
    // V = 4: {d0,d1} 1 + 0.1 = 1.1; all 0.6 ⇒ all three.
    const high = solveSlot(cell({ payloadBits, kappa: 1e-28, V: 4 }, devices));
    // Assert. Energy does not depend on β here, so the band is spread evenly among identical devices.
    expect(low.admitted).toEqual(['d0', 'd1']);
    expect(low.objective).toBeCloseTo(0.35, 12);
    expect(low.bandwidth.d0).toBeCloseTo(0.5, 9);
    expect(low.bandwidth.d1).toBeCloseTo(0.5, 9);
    expect(high.admitted).toEqual(['d0', 'd1', 'd2']);
    expect(high.objective).toBeCloseTo(0.6, 12);
    for (const id of ['d0', 'd1', 'd2']) expect(high.bandwidth[id]).toBeCloseTo(1 / 3, 9);
    // The exact solver (every subset) agrees.
    expect(solveExact(cell({ payloadBits, kappa: 1e-28, V: 1 }, devices), { method: 'enumerate' }).admitted).toEqual(['d0', 'd1']);
  });
});

describe('uplink cases (Shannon rate, KKT split)', () => {
  // Uplink: p g/(B N0) = 1 with g = B N0 / p (p = 0.2 W, B = 1 MHz), so r_ul(β) = β·1e6·log2(1 + 1/β);
  // 1e6 activation bits: t_ul(β) = 1/(β log2(1 + 1/β)) s, E = 0.2·t_ul J (κ = 0).
  //   β = 0.3: log2(1 + 1/0.3) = 2.115477, t_ul = 1.575689 s, E = 0.315138 J
  //   β = 0.5: log2(3) = 1.584963, t_ul = 1.261860 s, E = 0.252372 J
  //   β = 0.7: log2(1 + 1/0.7) = 1.280108, t_ul = 1.115977 s, E = 0.223195 J
  const g = (1e6 * N0) / 0.2;
  const payloadBits = { activations: 1e6, features: 0, gradients: 0, head: 0 };

  it('2 identical devices with equal queues split the band in half', () => {
    // Prepare. Q = 1 each, T_max = 3 s, V = 10.
    const inst = cell({ payloadBits, V: 10, deadlineS: 3 }, [device('d0', { gain: g, queue: 1 }), device('d1', { gain: g, queue: 1 })]);
    // Execute.
    const d = solveSlot(inst);
    // Assert. {d0,d1}: 0 + 2·E(β) with β0 + β1 = 1 and E convex: β = 0.5 each (KKT: equal marginals),
    // objective 2·0.252372 = 0.504744; a singleton would cost V·1 + 0.2 = 10.2.
    expect(d.admitted).toEqual(['d0', 'd1']);
    expect(d.bandwidth.d0).toBeCloseTo(0.5, 9);
    expect(d.bandwidth.d1).toBeCloseTo(0.5, 9);
    expect(d.energyJ.d0).toBeCloseTo(0.2 / (0.5 * Math.log2(3)), 9);
    expect(d.objective).toBeCloseTo((2 * 0.2) / (0.5 * Math.log2(3)), 9);
  });

  it('2 devices, one needs β ≥ 0.7 for the deadline: it gets exactly its minimum, the other the rest', () => {
    // Prepare. d1 computes for t_dev = 3 − t_ul(0.7) = 3 − 1.115977 = 1.884023 s, so β1_min = 0.7; d0 has
    // no compute (β0_min: t_ul(β) = 3 ⇒ β ≈ 0.13).
    const tUl07 = 1 / (0.7 * Math.log2(1 + 1 / 0.7));
    const inst = cell({ payloadBits, V: 10, deadlineS: 3 }, [
      device('d0', { gain: g, queue: 1 }),
      device('d1', { gain: g, queue: 1, deviceFlopsPerIteration: (3 - tUl07) * 1.6e10 }),
    ]);
    // Execute.
    const d = solveSlot(inst);
    // Assert. The unconstrained optimum (0.5, 0.5) breaks β1 ≥ 0.7; by convexity β1 sits at its bound:
    // β = (0.3, 0.7), energies 0.315138 + 0.223195, objective 0.538333; d1 finishes at T_max.
    expect(d.admitted).toEqual(['d0', 'd1']);
    expect(d.bandwidth.d1).toBeCloseTo(0.7, 9);
    expect(d.bandwidth.d0).toBeCloseTo(0.3, 9);
    expect(d.objective).toBeCloseTo(0.315138 + 0.223195, 5);
    expect(d.latencyS.d1).toBeLessThanOrEqual(3);
    expect(d.latencyS.d1).toBeCloseTo(3, 9);
  });
});

describe('updateQueues (MODEL.md §6)', () => {
  it('adds the energy spent, takes the budget off, never goes below 0', () => {
    // Q = (0.3, 0.01, 0), E = (0.2, 0, 0.04), Ē = 0.05: (0.45, max(−0.04, 0) = 0, 0).
    expect(updateQueues([0.3, 0.01, 0], [0.2, 0, 0.04], [0.05, 0.05, 0.05])).toEqual([0.3 + 0.2 - 0.05, 0, 0]);
  });
});
