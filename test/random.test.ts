import { RandomStream } from '../util/random';

describe('RandomStream', () => {
  it('gives the same draws for the same seed and name, and different ones for another name', () => {
    const a = RandomStream.fromSeed(7).fork('channel');
    const b = RandomStream.fromSeed(7).fork('channel');
    const c = RandomStream.fromSeed(7).fork('data');
    const da = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(da);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(da);
  });

  it('forks independently of how much the parent has drawn', () => {
    const root = RandomStream.fromSeed(3);
    const early = root.fork('x').uniform();
    for (let i = 0; i < 100; i++) root.uniform();
    expect(root.fork('x').uniform()).toBe(early);
  });

  it('restores exactly from a saved state', () => {
    const s = RandomStream.fromSeed(11).fork('q');
    s.normal();
    const saved = s.state();
    const next = [s.uniform(), s.normal(), s.gamma(0.5)];
    const t = RandomStream.fromState(s.seed, s.name, saved);
    expect([t.uniform(), t.normal(), t.gamma(0.5)]).toEqual(next);
  });

  it('has the moments of its distributions', () => {
    const s = RandomStream.fromSeed(5).fork('moments');
    const n = 40000;
    let u = 0,
      z = 0,
      z2 = 0,
      e = 0,
      g = 0;
    for (let i = 0; i < n; i++) {
      u += s.uniform();
      const x = s.normal();
      z += x;
      z2 += x * x;
      e += s.exponential(2);
      g += s.gamma(0.5);
    }
    expect(u / n).toBeCloseTo(0.5, 2);
    expect(z / n).toBeCloseTo(0, 1);
    expect(z2 / n).toBeCloseTo(1, 1);
    expect(e / n).toBeCloseTo(2, 1);
    expect(g / n).toBeCloseTo(0.5, 1);
  });

  it('draws Dirichlet vectors on the simplex', () => {
    const s = RandomStream.fromSeed(9);
    const p = s.dirichlet(0.5, 10);
    expect(p).toHaveLength(10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p.every((x) => x >= 0)).toBe(true);
  });
});
