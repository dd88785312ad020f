/**
 * Bessel function of the first kind, order 0, for the Jakes correlation of MODEL.md §3.
 * |x| ≤ 12: the power series Σ (−1)^k (x/2)^{2k} / (k!)², whose largest term there is about 4e3,
 * so cancellation costs at most four digits. |x| > 12: Hankel's asymptotic expansion
 * J0(x) = sqrt(2/(πx)) (P cos χ − Q sin χ), χ = x − π/4 (Abramowitz & Stegun 9.2.5), summed
 * until its terms stop shrinking. Absolute error about 1e-12 or less on the whole line.
 */

const SERIES_LIMIT = 12;

function seriesJ0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 60; k++) {
    term *= -q / (k * k);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.max(1, Math.abs(sum))) break;
  }
  return sum;
}

function asymptoticJ0(x: number): number {
  // a_k(0) = Π_{j=1..k} (−(2j−1)²) / (k! 8^k); P = Σ (−1)^m a_{2m} x^{−2m}, Q = Σ (−1)^m a_{2m+1} x^{−2m−1}.
  let p = 0;
  let q = 0;
  let term = 1; // a_k / x^k
  let previous = Infinity;
  for (let k = 0; k < 60; k++) {
    const size = Math.abs(term);
    if (size > previous) break; // the series is asymptotic: stop at its smallest term
    const m = Math.floor(k / 2);
    const sign = m % 2 === 0 ? 1 : -1;
    if (k % 2 === 0) p += sign * term;
    else q += sign * term;
    if (size < 1e-17) break;
    previous = size;
    const j = k + 1;
    term *= -((2 * j - 1) * (2 * j - 1)) / (j * 8 * x);
  }
  const chi = x - Math.PI / 4;
  return Math.sqrt(2 / (Math.PI * x)) * (p * Math.cos(chi) - q * Math.sin(chi));
}

/** Bessel J0(x) (even in x). MODEL.md §3 (Jakes correlation). */
export function besselJ0(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax === Infinity) return 0;
  return ax <= SERIES_LIMIT ? seriesJ0(ax) : asymptoticJ0(ax);
}

/** Jakes correlation of Gauss-Markov fading between consecutive slots: ρ = J0(2π f_D T_slot). MODEL.md §3. */
export function jakesCorrelation(dopplerHz: number, slotS: number): number {
  return besselJ0(2 * Math.PI * dopplerHz * slotS);
}
