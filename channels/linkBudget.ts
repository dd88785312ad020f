/**
 * Link budget: path loss, noise and Shannon rates of MODEL.md §3.
 * Plain functions; the RxJS operators beside them only apply these per slot.
 */

/** Path loss in dB at distance `distanceM` (3GPP TR 36.814 macro): 128.1 + 37.6 log10(d / 1 km). MODEL.md §3. */
export function pathLossDb(distanceM: number): number {
  if (!(distanceM > 0)) throw new RangeError(`distance must be > 0 m, got ${distanceM}`);
  return 128.1 + 37.6 * Math.log10(distanceM / 1000);
}

/** Converts dBm to W. */
export function dbmToW(powerDbm: number): number {
  return Math.pow(10, (powerDbm - 30) / 10);
}

/** Converts W to dBm. */
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
  if (!(fraction > 0)) return 0;
  const w = fraction * bandwidthHz;
  return w * Math.log2(1 + (powerW * gain) / (w * noisePsd));
}

/**
 * Downlink rate in bit/s: the server splits its power P_s in proportion to bandwidth, so the SNR
 * does not depend on β: r = β B_dl log2(1 + P_s g / (B_dl N0)). MODEL.md §3.
 */
export function downlinkRateBps(fraction: number, bandwidthHz: number, serverPowerW: number, gain: number, noisePsd: number): number {
  if (!(fraction > 0)) return 0;
  return fraction * bandwidthHz * Math.log2(1 + (serverPowerW * gain) / (bandwidthHz * noisePsd));
}
