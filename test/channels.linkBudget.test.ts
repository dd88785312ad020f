/**
 * Link budget, airtime, energy and the inverse problems against hand-computed values (MODEL.md §3, §4).
 * The reference figures were computed by hand in dB (and checked at 30 digits with mpmath):
 * d = 100 m, ξ = 0, |h|² = 1, p = 23 dBm, B = 20 MHz, β = 0.1, N0 = −174 dBm/Hz, NF = 7 dB.
 *   PL = 128.1 + 37.6·log10(0.1) = 90.5 dB
 *   noise on 2 MHz = −174 + 7 + 10·log10(2e6) = −103.9897 dBm
 *   SNR = 23 − 90.5 + 103.9897 = 36.4897 dB = 4456.2547
 *   r = 2e6 · log2(4457.2547) = 24.24388 Mbit/s
 *   1 Mbit: airtime 1e6 / r = 41.2475 ms, energy 0.19953 W × that = 8.22996 mJ
 */
import {
  besselJ0,
  dbmToW,
  downlinkRateBps,
  downlinkSnr,
  fractionForEnergySlope,
  jakesCorrelation,
  minDownlinkFraction,
  minFractionForDeadline,
  minUplinkFraction,
  noisePsdWPerHz,
  pathLossDb,
  channelGain,
  transmitEnergyDerivativeJ,
  transmitEnergyJ,
  uplinkAirtimeS,
  downlinkAirtimeS,
  uplinkRateBps,
  uplinkRateDerivativeBps,
  uplinkSnr,
  wToDbm,
  linkUplinkRateBps,
  linkDownlinkRateBps,
  type DeviceLink,
} from '../channels';
import fc from 'fast-check';

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

const N0 = noisePsdWPerHz(-174, 7);
const P = dbmToW(23);
const G100 = channelGain(pathLossDb(100), 0, 1);
const link100: DeviceLink = {
  bandwidthHz: 20e6,
  downlinkBandwidthHz: 20e6,
  noisePsdWPerHz: N0,
  powerW: P,
  serverPowerW: dbmToW(43),
  gain: G100,
};

describe('path loss and noise (MODEL.md §3)', () => {
  it('path loss at 100 m and 500 m', () => {
    expect(pathLossDb(100)).toBeCloseTo(90.5, 10);
    expect(pathLossDb(500)).toBeCloseTo(116.781272163, 8);
    expect(pathLossDb(1000)).toBeCloseTo(128.1, 12);
  });
  it('rejects a distance that is not positive', () => {
    expect(() => pathLossDb(0)).toThrow(/distance must be > 0 m/);
  });
  it('noise PSD with the noise figure, and dBm ⇄ W', () => {
    expect(relErr(N0, 1.99526231496888e-20)).toBeLessThan(1e-12);
    expect(dbmToW(30)).toBeCloseTo(1, 15);
    expect(wToDbm(0.2)).toBeCloseTo(23.0103, 4);
  });
  it('gain composes path loss, shadowing and fading power', () => {
    expect(relErr(channelGain(116.781272163, 8, 0.5), 1.66281061405664e-13)).toBeLessThan(1e-9);
  });
});

describe('SNR and Shannon rates for a bandwidth fraction (MODEL.md §3)', () => {
  it('uplink SNR and rate at β = 0.1, 100 m', () => {
    const snr = uplinkSnr(0.1, 20e6, P, G100, N0);
    expect(10 * Math.log10(snr)).toBeCloseTo(36.4897, 4);
    expect(relErr(snr, 4456.25469066873)).toBeLessThan(1e-9);
    expect(relErr(uplinkRateBps(0.1, 20e6, P, G100, N0), 24243879.3691551)).toBeLessThan(1e-9);
  });
  it('downlink: the SNR does not depend on β, the rate is linear in it', () => {
    expect(relErr(downlinkSnr(20e6, dbmToW(43), G100, N0), 44562.5469066873)).toBeLessThan(1e-9);
    expect(relErr(downlinkRateBps(0.1, 20e6, dbmToW(43), G100, N0), 30887152.8878768)).toBeLessThan(1e-9);
    expect(downlinkRateBps(0.2, 20e6, dbmToW(43), G100, N0)).toBeCloseTo(2 * downlinkRateBps(0.1, 20e6, dbmToW(43), G100, N0), 4);
  });
  it('a low-SNR link at the cell edge (500 m, ξ = 8 dB, |h|² = 0.5)', () => {
    const g = channelGain(pathLossDb(500), 8, 0.5);
    expect(relErr(uplinkSnr(0.1, 20e6, P, g, N0), 0.831405307028322)).toBeLessThan(1e-9);
    expect(relErr(uplinkRateBps(0.1, 20e6, P, g, N0), 1745902.21660304)).toBeLessThan(1e-9);
  });
  it('β → 0 gives a rate of 0, never NaN; a zero gain gives 0', () => {
    for (const beta of [0, 1e-300, 5e-324, -0.1]) {
      const r = uplinkRateBps(beta, 20e6, P, G100, N0);
      expect(Number.isNaN(r)).toBe(false);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan((P * G100) / (N0 * Math.LN2) + 1);
    }
    expect(uplinkRateBps(0, 20e6, P, G100, N0)).toBe(0);
    expect(uplinkRateBps(0.5, 20e6, P, 0, N0)).toBe(0);
    expect(uplinkSnr(0, 20e6, P, G100, N0)).toBe(Infinity);
    expect(uplinkSnr(0, 20e6, P, 0, N0)).toBe(0);
  });
  it('the rate approaches its wideband limit p g / (N0 ln 2) and is increasing', () => {
    const g = channelGain(pathLossDb(500), 8, 0.5);
    const limit = (P * g) / (N0 * Math.LN2);
    expect(uplinkRateBps(1e6, 20e6, P, g, N0)).toBeLessThan(limit);
    expect(relErr(uplinkRateBps(1e6, 20e6, P, g, N0), limit)).toBeLessThan(1e-6);
  });
  it('a negative bandwidth is an error that names it', () => {
    expect(() => uplinkRateBps(0.1, -20e6, P, G100, N0)).toThrow(/bandwidth must be ≥ 0 Hz, got -20000000/);
    expect(() => downlinkRateBps(0.1, NaN, P, G100, N0)).toThrow(/bandwidth must be ≥ 0 Hz, got NaN/);
  });
  it('dr/dβ matches a central difference, also at a very low SNR', () => {
    for (const [beta, gain] of [
      [0.1, G100],
      [0.3, channelGain(pathLossDb(500), 8, 0.5)],
      [0.5, 1e-18],
    ] as const) {
      const h = beta * 1e-5;
      const fd = (uplinkRateBps(beta + h, 20e6, P, gain, N0) - uplinkRateBps(beta - h, 20e6, P, gain, N0)) / (2 * h);
      expect(relErr(uplinkRateDerivativeBps(beta, 20e6, P, gain, N0), fd)).toBeLessThan(1e-5);
    }
    expect(uplinkRateDerivativeBps(0, 20e6, P, G100, N0)).toBe(Infinity);
  });
});

describe('airtime and energy of a payload (MODEL.md §4)', () => {
  it('1 Mbit on β = 0.1 at 100 m', () => {
    expect(relErr(uplinkAirtimeS(1e6, 0.1, link100), 0.0412475241595318)).toBeLessThan(1e-9);
    expect(relErr(transmitEnergyJ(1e6, 0.1, link100), 0.00822996305412821)).toBeLessThan(1e-9);
    expect(relErr(downlinkAirtimeS(1e6, 0.1, link100), 1e6 / 30887152.8878768)).toBeLessThan(1e-9);
  });
  it('an empty payload takes no time; a dead link takes forever', () => {
    expect(uplinkAirtimeS(0, 0, link100)).toBe(0);
    expect(transmitEnergyJ(0, 0.1, link100)).toBe(0);
    expect(uplinkAirtimeS(1, 0, link100)).toBe(Infinity);
    expect(transmitEnergyJ(1, 0.1, { ...link100, gain: 0 })).toBe(Infinity);
    expect(() => uplinkAirtimeS(-1, 0.1, link100)).toThrow(/payload must be a finite number of bits ≥ 0, got -1/);
  });
  it('dE/dβ matches a central difference, is negative, and increases (E convex)', () => {
    const edge: DeviceLink = { ...link100, gain: channelGain(pathLossDb(480), 5, 0.7) };
    let previous = -Infinity;
    for (const beta of [0.01, 0.05, 0.1, 0.3, 0.7, 1]) {
      const h = beta * 1e-5;
      const fd = (transmitEnergyJ(1e7, beta + h, edge) - transmitEnergyJ(1e7, beta - h, edge)) / (2 * h);
      const d = transmitEnergyDerivativeJ(1e7, beta, edge);
      expect(relErr(d, fd)).toBeLessThan(1e-5);
      expect(d).toBeLessThan(0);
      expect(d).toBeGreaterThan(previous);
      previous = d;
    }
    expect(transmitEnergyDerivativeJ(1e7, 0, edge)).toBe(-Infinity);
  });
});

describe('inverse problems (MODEL.md §6)', () => {
  it('the smallest β for a deadline round-trips to 1e-9 relative', () => {
    const beta = minUplinkFraction(1e6, 0.0412475241595318, link100);
    expect(relErr(beta, 0.1)).toBeLessThan(1e-9);
    expect(relErr(uplinkRateBps(beta, 20e6, P, G100, N0) * 0.0412475241595318, 1e6)).toBeLessThan(1e-9);
  });
  it('round-trips over many links, payloads and deadlines (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 50, max: 500, noNaN: true }),
        fc.double({ min: -20, max: 20, noNaN: true }),
        fc.double({ min: 1e-4, max: 1, noNaN: true }),
        fc.double({ min: 1e3, max: 1e8, noNaN: true }),
        (d, xi, beta, bits) => {
          const link = { ...link100, gain: channelGain(pathLossDb(d), xi, 1) };
          const deadline = uplinkAirtimeS(bits, beta, link);
          const found = minUplinkFraction(bits, deadline, link);
          return relErr(found, beta) < 1e-9 && uplinkAirtimeS(bits, found, link) <= deadline;
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
  it('with uplink and downlink together, and the impossible cases', () => {
    const demand = { uplinkBits: 5.5e6, downlinkBits: 2.7e6, timeBudgetS: 0.9 };
    const beta = minFractionForDeadline(demand, link100);
    const total = (b: number) => uplinkAirtimeS(demand.uplinkBits, b, link100) + downlinkAirtimeS(demand.downlinkBits, b, link100);
    expect(relErr(total(beta), 0.9)).toBeLessThan(1e-9);
    expect(total(beta)).toBeLessThanOrEqual(0.9);
    expect(minFractionForDeadline({ ...demand, timeBudgetS: 1e-6 }, link100)).toBe(Infinity);
    expect(minFractionForDeadline({ uplinkBits: 0, timeBudgetS: 1 }, link100)).toBe(0);
    expect(minUplinkFraction(1, 1, { ...link100, gain: 0 })).toBe(Infinity);
  });
  it('downlink in closed form', () => {
    const beta = minDownlinkFraction(1e6, 0.5, link100);
    expect(relErr(linkDownlinkRateBps(beta, link100) * 0.5, 1e6)).toBeLessThan(1e-12);
    expect(minDownlinkFraction(1e12, 0.5, link100)).toBe(Infinity);
  });
  it('the β where the energy slope meets a multiplier (KKT), clamped to [lo, hi]', () => {
    const slope = -transmitEnergyDerivativeJ(1e7, 0.23, link100);
    const beta = fractionForEnergySlope(1e7, slope, link100);
    expect(relErr(beta, 0.23)).toBeLessThan(1e-9);
    expect(fractionForEnergySlope(1e7, slope, link100, 0.5, 1)).toBe(0.5);
    expect(fractionForEnergySlope(1e7, slope, link100, 0, 0.1)).toBe(0.1);
    expect(linkUplinkRateBps(0.23, link100)).toBeGreaterThan(0);
  });
});

describe('Bessel J0 and the Jakes correlation (MODEL.md §3)', () => {
  it('known values', () => {
    expect(besselJ0(0)).toBe(1);
    expect(besselJ0(1)).toBeCloseTo(0.7651976866, 10);
    expect(Math.abs(besselJ0(2.404825557695773))).toBeLessThan(1e-12);
    expect(besselJ0(2.4048)).toBeCloseTo(0, 4);
    expect(besselJ0(5)).toBeCloseTo(-0.1775967713143383, 12);
    expect(besselJ0(10)).toBeCloseTo(-0.2459357644513483, 12);
    expect(besselJ0(20)).toBeCloseTo(0.1670246643405832, 12);
    expect(besselJ0(-1)).toBe(besselJ0(1));
  });
  it('agrees with the integral (1/π) ∫₀^π cos(x sin θ) dθ across both branches', () => {
    const integral = (x: number) => {
      const n = 2000; // trapezoid on a periodic integrand: exponentially accurate
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.cos(x * Math.sin((Math.PI * i) / n));
      return s / n;
    };
    for (const x of [0.3, 3.7, 7.9, 11.99, 12.01, 15, 31.4, 80]) expect(Math.abs(besselJ0(x) - integral(x))).toBeLessThan(2e-12);
  });
  it('ρ = J0(2π f_D T_slot)', () => {
    expect(jakesCorrelation(10, 0.01)).toBeCloseTo(besselJ0(0.2 * Math.PI), 15);
    expect(jakesCorrelation(0, 0.01)).toBe(1);
  });
});
