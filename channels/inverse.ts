/**
 * Airtime, transmit energy and the inverse problems the scheduler solves (MODEL.md §4, §6):
 * the smallest β that moves a payload within a time budget, the energy of a transfer as a
 * function of β with its derivative, and the β at which that derivative takes a given value
 * (the KKT condition of the bandwidth split). All plain functions of one device's link.
 *
 * The uplink rate r(β) = βB log2(1 + a/(βB)), a = p g / N0, is increasing and concave in β with
 * r(0+) = 0, so airtime s / r(β) and energy p s / r(β) are decreasing and convex: each inverse
 * is a monotone bisection, run to adjacent doubles.
 */
import { downlinkRateBps, uplinkRateBps, uplinkRateDerivativeBps } from './linkBudget';
import type { RadioConstants } from './params';

/** One device's link in one slot: the radio constants and its gain g_k^t. MODEL.md §3. */
export interface DeviceLink extends RadioConstants {
  readonly gain: number;
}

function checkBits(bits: number): void {
  if (!(bits >= 0 && Number.isFinite(bits))) throw new RangeError(`payload must be a finite number of bits ≥ 0, got ${bits}`);
}

/** Uplink rate of `link` on a fraction β. MODEL.md §3. */
export function linkUplinkRateBps(fraction: number, link: DeviceLink): number {
  return uplinkRateBps(fraction, link.bandwidthHz, link.powerW, link.gain, link.noisePsdWPerHz);
}

/** Downlink rate of `link` on a fraction β. MODEL.md §3. */
export function linkDownlinkRateBps(fraction: number, link: DeviceLink): number {
  return downlinkRateBps(fraction, link.downlinkBandwidthHz, link.serverPowerW, link.gain, link.noisePsdWPerHz);
}

/** Airtime s / r in seconds: 0 for an empty payload, Infinity on a dead link (rate 0). MODEL.md §4. */
export function airtimeS(bits: number, rateBps: number): number {
  checkBits(bits);
  if (bits === 0) return 0;
  return rateBps > 0 ? bits / rateBps : Infinity;
}

/** Uplink airtime of `bits` on a fraction β: s / r^ul(β). MODEL.md §4. */
export function uplinkAirtimeS(bits: number, fraction: number, link: DeviceLink): number {
  return airtimeS(bits, linkUplinkRateBps(fraction, link));
}

/** Downlink airtime of `bits` on a fraction β: s / r^dl(β). MODEL.md §4. */
export function downlinkAirtimeS(bits: number, fraction: number, link: DeviceLink): number {
  return airtimeS(bits, linkDownlinkRateBps(fraction, link));
}

/** Transmit energy of an uplink payload as a function of β: E(β) = p s / r^ul(β) (Infinity as β → 0). MODEL.md §4. */
export function transmitEnergyJ(bits: number, fraction: number, link: DeviceLink): number {
  const t = uplinkAirtimeS(bits, fraction, link);
  return t === 0 ? 0 : link.powerW * t;
}

/**
 * dE/dβ of `transmitEnergyJ`: −p s r'(β) / r(β)², in J per unit of β. Negative and increasing
 * (E is convex); −Infinity at β = 0 with a non-empty payload. MODEL.md §4, §6.
 */
export function transmitEnergyDerivativeJ(bits: number, fraction: number, link: DeviceLink): number {
  checkBits(bits);
  if (bits === 0 || !(link.powerW > 0)) return 0;
  const r = linkUplinkRateBps(fraction, link);
  if (!(r > 0)) return -Infinity;
  const dr = uplinkRateDerivativeBps(fraction, link.bandwidthHz, link.powerW, link.gain, link.noisePsdWPerHz);
  return (-link.powerW * bits * dr) / (r * r);
}

/**
 * Smallest x in (lo, hi] with ok(x), for ok monotone (false below some point, true above), to
 * adjacent doubles; `hi` must satisfy ok.
 */
function bisectSmallest(ok: (x: number) => boolean, lo: number, hi: number): number {
  for (let i = 0; i < 2200; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** What must cross a link within a time budget. MODEL.md §4, §6. */
export interface DeadlineDemand {
  readonly uplinkBits: number;
  readonly downlinkBits?: number;
  /** Time left for airtime (T_max minus compute time, for a whole round). */
  readonly timeBudgetS: number;
}

/**
 * The smallest β (the same on uplink and downlink, MODEL.md §3) with
 * s_ul / r^ul(β) + s_dl / r^dl(β) ≤ T; Infinity when even β = `maxFraction` (default 1) is too
 * little; 0 for an empty demand. MODEL.md §6 (β_k^min).
 */
export function minFractionForDeadline(demand: DeadlineDemand, link: DeviceLink, maxFraction = 1): number {
  const up = demand.uplinkBits;
  const down = demand.downlinkBits ?? 0;
  checkBits(up);
  checkBits(down);
  if (up === 0 && down === 0) return 0;
  if (!(demand.timeBudgetS > 0)) return Infinity;
  const fits = (beta: number) => uplinkAirtimeS(up, beta, link) + downlinkAirtimeS(down, beta, link) <= demand.timeBudgetS;
  if (!fits(maxFraction)) return Infinity;
  return bisectSmallest(fits, 0, maxFraction);
}

/** The smallest β that delivers `bits` uplink within `timeBudgetS`: r^ul(β) T ≥ s. Infinity if β = 1 does not. MODEL.md §6. */
export function minUplinkFraction(bits: number, timeBudgetS: number, link: DeviceLink, maxFraction = 1): number {
  return minFractionForDeadline({ uplinkBits: bits, timeBudgetS }, link, maxFraction);
}

/**
 * The smallest β that delivers `bits` downlink within `timeBudgetS`, in closed form (the downlink
 * SNR does not depend on β): β = s / (T B_dl log2(1 + P_s g / (B_dl N0))). Infinity above `maxFraction`. MODEL.md §3, §6.
 */
export function minDownlinkFraction(bits: number, timeBudgetS: number, link: DeviceLink, maxFraction = 1): number {
  checkBits(bits);
  if (bits === 0) return 0;
  if (!(timeBudgetS > 0)) return Infinity;
  const fullRate = linkDownlinkRateBps(1, link);
  const beta = fullRate > 0 ? bits / (timeBudgetS * fullRate) : Infinity;
  return beta <= maxFraction ? beta : Infinity;
}

/**
 * The β in [lo, hi] at which the energy slope −dE/dβ equals `slopeJ` (> 0): the KKT condition
 * w · (−E'(β)) = λ of MODEL.md §6 with slopeJ = λ / w. −E' decreases in β, so: `hi` when even there
 * the slope exceeds `slopeJ`, `lo` when already there it is below.
 */
export function fractionForEnergySlope(bits: number, slopeJ: number, link: DeviceLink, lo = 0, hi = 1): number {
  checkBits(bits);
  if (!(lo >= 0 && hi >= lo)) throw new RangeError(`need 0 ≤ lo ≤ hi, got [${lo}, ${hi}]`);
  if (bits === 0) return lo;
  const steep = (beta: number) => -transmitEnergyDerivativeJ(bits, beta, link) > slopeJ;
  if (steep(hi)) return hi;
  if (!steep(lo)) return lo;
  return bisectSmallest((beta) => !steep(beta), lo, hi);
}
