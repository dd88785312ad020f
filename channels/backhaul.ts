/**
 * The backhaul between an edge server and the cloud aggregator (README "Several cells"): a wired
 * link of its own, apart from the wireless medium, with a rate R and a one-way latency L. Moving a
 * payload of s bits over it, either way, takes L + s / R. Its bits are counted apart from the
 * medium's (BitsByType), and it costs no device energy.
 */

/** The backhaul of a multi-cell scenario (`cloud.backhaul`). */
export interface BackhaulLink {
  /** R, bit/s. */
  readonly rateBps: number;
  /** L, one way, s. */
  readonly latencyS: number;
}

/** A payload moved over the backhaul. */
export interface BackhaulTransfer {
  readonly bits: number;
  /** L + s / R, s. */
  readonly delayS: number;
}

/** The one charge of the backhaul: `bits` moved edge → cloud or cloud → edge over `link`. */
export function backhaulTransfer(bits: number, link: BackhaulLink): BackhaulTransfer {
  if (!(bits >= 0) || !(link.rateBps > 0) || !(link.latencyS >= 0))
    throw new RangeError(
      `backhaul: bits ${bits}, rateBps ${link.rateBps}, latencyS ${link.latencyS} (need bits >= 0, rate > 0, latency >= 0)`,
    );
  return { bits, delayS: link.latencyS + bits / link.rateBps };
}

/** The bits of a set of weights on the wire at `bitsPerElement` per element (MODEL.md §4, q). */
export function weightBits(weights: Readonly<Record<string, ArrayLike<number>>>, bitsPerElement: number): number {
  let elements = 0;
  for (const key of Object.keys(weights).sort()) elements += (weights[key] as ArrayLike<number>).length;
  return elements * bitsPerElement;
}
