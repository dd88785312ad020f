/**
 * Link budget: path loss, noise and Shannon rates of MODEL.md §3.
 * Plain functions; the RxJS operators beside them only apply these per slot.
 * log2(1 + x) is computed as log1p(x) / ln 2, exact also at a very low SNR.
 */

function checkBandwidth(bandwidthHz: number): void {
  if (!(bandwidthHz >= 0)) throw new RangeError(`bandwidth must be ≥ 0 Hz, got ${bandwidthHz}`);
}

/** ln(1 + S/(w N0)) without overflow: for a huge SNR (a sliver of band, β → 0) ln S − ln w − ln N0. */
function lnOnePlusSnr(signalW: number, widthHz: number, noisePsd: number): number {
  const snr = signalW / (widthHz * noisePsd);
  return Number.isFinite(snr) && snr < 1e15 ? Math.log1p(snr) : Math.log(signalW) - Math.log(widthHz) - Math.log(noisePsd);
}

/** Path loss in dB at distance `distanceM` (3GPP TR 36.814 macro): 128.1 + 37.6 log10(d / 1 km). MODEL.md §3. */
export function pathLossDb(distanceM: number): number {
  if (!(distanceM > 0)) throw new RangeError(`distance must be > 0 m, got ${distanceM}`);
  return 128.1 + 37.6 * Math.log10(distanceM / 1000);
}

/** Converts dBm to W (transmit powers, MODEL.md §3). */
export function dbmToW(powerDbm: number): number {
  return Math.pow(10, (powerDbm - 30) / 10);
}

/** Converts W to dBm (MODEL.md §3). */
export function wToDbm(powerW: number): number {
  return 10 * Math.log10(powerW) + 30;
}

/** Noise power spectral density N0 in W/Hz from dBm/Hz and a noise figure in dB. MODEL.md §3. */
export function noisePsdWPerHz(noisePsdDbmPerHz: number, noiseFigureDb: number): number {
  return Math.pow(10, (noisePsdDbmPerHz + noiseFigureDb - 30) / 10);
}

/** Linear channel gain g = 10^((−PL_dB − ξ)/10) · |h|². MODEL.md §3. */
export function channelGain(pathLossDbValue: number, shadowingDb: number, fadingPower: number): number {
  return Math.pow(10, (-pathLossDbValue - shadowingDb) / 10) * fadingPower;
}

/**
 * Uplink rate in bit/s with a fraction β of bandwidth B, the device sending with power p on its slice:
 * r = β B log2(1 + p g / (β B N0)). MODEL.md §3. Tends to 0 as β → 0 (never NaN).
 */
export function uplinkRateBps(fraction: number, bandwidthHz: number, powerW: number, gain: number, noisePsd: number): number {
  checkBandwidth(bandwidthHz);
  const w = fraction * bandwidthHz;
  const signalW = powerW * gain;
  if (!(w > 0) || !(signalW > 0)) return 0;
  return (w * lnOnePlusSnr(signalW, w, noisePsd)) / Math.LN2;
}

/**
 * Downlink rate in bit/s: the server splits its power P_s in proportion to bandwidth, so the SNR
 * does not depend on β: r = β B_dl log2(1 + P_s g / (B_dl N0)). MODEL.md §3.
 */
export function downlinkRateBps(fraction: number, bandwidthHz: number, serverPowerW: number, gain: number, noisePsd: number): number {
  checkBandwidth(bandwidthHz);
  if (!(fraction > 0)) return 0;
  return (fraction * bandwidthHz * Math.log1p((serverPowerW * gain) / (bandwidthHz * noisePsd))) / Math.LN2;
}

/**
 * Uplink SNR p g / (β B N0) on a slice β of band B (linear). MODEL.md §3.
 * Grows without bound as β → 0; Infinity at β = 0 with a positive gain, 0 with a zero gain.
 */
export function uplinkSnr(fraction: number, bandwidthHz: number, powerW: number, gain: number, noisePsd: number): number {
  checkBandwidth(bandwidthHz);
  const signalW = powerW * gain;
  if (!(signalW > 0)) return 0;
  if (!(fraction > 0)) return Infinity;
  return signalW / (fraction * bandwidthHz * noisePsd);
}

/** Downlink SNR P_s g / (B_dl N0) (linear): the server's power follows the bandwidth, so it does not depend on β. MODEL.md §3. */
export function downlinkSnr(bandwidthHz: number, serverPowerW: number, gain: number, noisePsd: number): number {
  checkBandwidth(bandwidthHz);
  const signalW = serverPowerW * gain;
  if (!(signalW > 0)) return 0;
  return signalW / (bandwidthHz * noisePsd);
}

/**
 * Derivative of the uplink rate in β: dr/dβ = (B / ln 2) (ln(1 + y) − y / (1 + y)), y the SNR at β.
 * Positive and decreasing (the rate is concave in β); Infinity at β = 0 with a positive gain. MODEL.md §3, §6.
 */
export function uplinkRateDerivativeBps(fraction: number, bandwidthHz: number, powerW: number, gain: number, noisePsd: number): number {
  const y = uplinkSnr(fraction, bandwidthHz, powerW, gain, noisePsd);
  if (y === 0) return 0;
  const w = fraction * bandwidthHz;
  if (!(w > 0)) return Infinity;
  // ln(1+y) − y/(1+y) = y²/2 − 2y³/3 + 3y⁴/4 − …: the series avoids cancellation at a low SNR.
  const bracket =
    y < 1e-4
      ? y * y * (0.5 - (2 / 3) * y + 0.75 * y * y)
      : lnOnePlusSnr(powerW * gain, w, noisePsd) - (Number.isFinite(y) ? y / (1 + y) : 1);
  return (bandwidthHz * bracket) / Math.LN2;
}
