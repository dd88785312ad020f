/**
 * Memo of the set search's per-device KKT answers at a bandwidth price λ (scheduler/search.ts,
 * MODEL.md §6): u_k(λ) = M⁻¹(λ a_k/ω_k) and ω_k f(u_k(λ)). Within one decision a_k and ω_k are
 * fixed, so these depend on λ alone (not on n or β^min): the search prices the same λ again when
 * it bounds size n at the previous size's price and when it re-selects at the ends of its
 * bisection, and then reads them here instead of running Newton again. The numbers are the very
 * ones computed the first time, so the search's results do not change by a bit.
 */

/** Values memoised for one price: NaN for a device not computed yet. */
export interface PriceEntry {
  /** u_k(λ), the unconstrained KKT SNR of device k. */
  readonly u: Float64Array;
  /** ω_k f(u_k(λ)), its weighted uplink energy there. */
  readonly weightedAirtime: Float64Array;
}

/** Entries by price, kept for the current size n and the price carried over to the next one. */
export class PriceMemo {
  private readonly entries = new Map<number, PriceEntry>();
  private readonly spare: PriceEntry[] = [];

  constructor(private readonly deviceCount: number) {}

  /** The entry of price λ, empty (all NaN) the first time λ is asked for since it was dropped. */
  at(lambda: number): PriceEntry {
    let entry = this.entries.get(lambda);
    if (entry) return entry;
    entry = this.spare.pop() ?? {
      u: new Float64Array(this.deviceCount),
      weightedAirtime: new Float64Array(this.deviceCount),
    };
    entry.u.fill(Number.NaN);
    this.entries.set(lambda, entry);
    return entry;
  }

  /** Drops every price but `lambda` (0: all), recycling their arrays. */
  keepOnly(lambda: number): void {
    for (const [price, entry] of this.entries)
      if (price !== lambda) {
        this.entries.delete(price);
        this.spare.push(entry);
      }
  }
}
