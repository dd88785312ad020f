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
  /** The last size n that asked for this price. */
  usedAt: number;
}

/** Entries by price, kept while the current or the previous size n asks for them (later sizes retrace some of their prices). */
export class PriceMemo {
  private readonly entries = new Map<number, PriceEntry>();
  private readonly spare: PriceEntry[] = [];

  constructor(private readonly deviceCount: number) {}

  /** The entry of price λ for size n, empty (all NaN) the first time λ is asked for since it was dropped. */
  at(lambda: number, n: number): PriceEntry {
    let entry = this.entries.get(lambda);
    if (!entry) {
      entry = this.spare.pop() ?? {
        u: new Float64Array(this.deviceCount),
        weightedAirtime: new Float64Array(this.deviceCount),
        usedAt: n,
      };
      entry.u.fill(Number.NaN);
      this.entries.set(lambda, entry);
    }
    entry.usedAt = n;
    return entry;
  }

  /** Before size n: drops the prices no size since n − 1 asked for, recycling their arrays. */
  startSize(n: number): void {
    for (const [price, entry] of this.entries)
      if (entry.usedAt < n - 1) {
        this.entries.delete(price);
        this.spare.push(entry);
      }
  }
}
