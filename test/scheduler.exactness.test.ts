/**
 * `decide` against the exact solver (MODEL.md §6: "exact on small instances (checked against
 * enumerating every subset with the optimal bandwidth split)"). `decide` solves small K exactly
 * (branch and bound), so its fast search is also measured alone on the same instances.
 */
import { RandomStream } from '../util/random';
import { createRandomInstance, decideInstance, solveExact, type SlotInstance } from '../scheduler';

function gap(value: number, exact: number): number {
  return (value - exact) / Math.max(Math.abs(exact), 1e-12);
}

function instances(name: string, count: number, kMin: number, kMax: number): SlotInstance[] {
  const root = RandomStream.fromSeed(2024, name);
  return Array.from({ length: count }, (_, i) => {
    const s = root.fork(`${i}`);
    return createRandomInstance(s, { deviceCount: kMin + s.int(kMax - kMin + 1) });
  });
}

describe('exactness', () => {
  it('K ≤ 10, 200 instances: decide = every-subset enumeration within 1e-6; fast search alone: mean gap ≤ 0.5%', () => {
    const set = instances('small', 200, 2, 10);
    const gaps: number[] = [];
    let worstDecide = 0;
    for (const inst of set) {
      const exact = solveExact(inst, { method: 'enumerate' });
      const d = decideInstance(inst);
      const bb = solveExact(inst, { method: 'branch-and-bound' });
      worstDecide = Math.max(worstDecide, Math.abs(gap(d.objective, exact.objective)));
      expect(Math.abs(gap(d.objective, exact.objective))).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(gap(bb.objective, exact.objective))).toBeLessThanOrEqual(1e-9);
      const g = gap(decideInstance(inst, { method: 'search' }).objective, exact.objective);
      expect(g).toBeGreaterThanOrEqual(-1e-9); // nothing beats the exact optimum
      gaps.push(g);
    }
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const worst = Math.max(...gaps);
    const exactHits = gaps.filter((g) => g <= 1e-9).length;
    console.log(
      `K ≤ 10 (200 instances): decide vs enumeration worst |gap| ${worstDecide.toExponential(2)}; fast search alone: mean gap ${(100 * mean).toExponential(3)}%, worst ${(100 * worst).toExponential(3)}%, optimal on ${exactHits}/200`,
    );
    expect(mean).toBeLessThanOrEqual(0.005);
  });

  it('K = 16 to 20, 30 instances: decide (fast search) against the exact branch and bound', () => {
    const set = instances('large', 30, 16, 20);
    const gaps: number[] = [];
    for (const inst of set) {
      const exact = solveExact(inst);
      // With more than 12 candidates `decide` is the fast search itself.
      const g = gap(decideInstance(inst, { method: 'search' }).objective, exact.objective);
      expect(g).toBeGreaterThanOrEqual(-1e-9);
      gaps.push(g);
    }
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const worst = Math.max(...gaps);
    console.log(
      `K = 16–20 (30 instances): fast search mean gap ${(100 * mean).toExponential(3)}%, worst ${(100 * worst).toExponential(3)}%, optimal on ${gaps.filter((g) => g <= 1e-9).length}/30`,
    );
    expect(mean).toBeLessThanOrEqual(0.005);
  });
});
