/**
 * The set search's price memo (scheduler/priceMemo.ts): what it keeps and drops, and the premise
 * that makes reading it exact — below INVERSE_GUESS_FREE_T, M⁻¹(t) does not depend on its warm start.
 */
import { INVERSE_GUESS_FREE_T, inverseMarginal, marginalSaving } from '../scheduler/bandwidthSplit';
import { PriceMemo } from '../scheduler/priceMemo';

describe('price memo', () => {
  it('keeps a price while the current or the previous size asks for it, then recycles it empty', () => {
    // Prepare
    const memo = new PriceMemo(3);
    memo.startSize(1);
    const first = memo.at(0.5, 1);
    first.u[1] = 7;
    first.weightedAirtime[1] = 8;
    memo.at(2, 1);

    // Execute / Assert: size 2 still reads size 1's answers
    memo.startSize(2);
    expect(memo.at(0.5, 2).u[1]).toBe(7);
    expect(memo.at(0.5, 2).weightedAirtime[1]).toBe(8);
    // size 3: 0.5 (asked at size 2) stays, 2 (last asked at size 1) is dropped
    memo.startSize(3);
    expect(memo.at(0.5, 3).u[1]).toBe(7);
    const recycled = memo.at(2, 3);
    expect(Array.from(recycled.u).every(Number.isNaN)).toBe(true);
    // size 5: 0.5 was last asked at size 3: dropped, and its arrays come back empty
    memo.startSize(5);
    expect(Array.from(memo.at(0.5, 5).u).every(Number.isNaN)).toBe(true);
  });

  it('M⁻¹(t) is the same to the bit whatever its warm start, for t up to INVERSE_GUESS_FREE_T', () => {
    const guesses = [0, 1e-6, 0.3, 5, 1e4, 1e12];
    let checked = 0;
    for (let lt = -60; lt <= Math.log(INVERSE_GUESS_FREE_T); lt += 0.37) {
      const t = Math.exp(lt);
      const reference = inverseMarginal(t);
      expect(marginalSaving(reference) / t).toBeCloseTo(1, 9);
      for (const g of guesses) expect(Object.is(inverseMarginal(t, g), reference)).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
  });
});
