/**
 * Seeded random streams. One master seed; every actor and every
 * random process forks its own named stream, so adding a draw in one place never
 * shifts the draws of another, and a worker count cannot change any draw.
 *
 * Generator: sfc32 (Small Fast Counting, 128-bit state), seeded from a
 * SplitMix32 expansion of FNV-1a(parent seed, name). Its state is four uint32s,
 * so a stream can be saved in a checkpoint and restored exactly.
 */

/** The four 32-bit words of an sfc32 state. */
export type RandomState = readonly [number, number, number, number];

/** FNV-1a of a string, mixed with a 32-bit seed. */
export function hashString32(text: string, seed = 0x811c9dc5): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function splitMix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A named, seeded stream of random numbers. */
export class RandomStream {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private constructor(
    readonly seed: number,
    readonly name: string,
    state: RandomState,
  ) {
    [this.a, this.b, this.c, this.d] = state;
  }

  /** The root stream of a run. */
  static fromSeed(seed: number, name = 'root'): RandomStream {
    const mix = splitMix32(hashString32(name, seed >>> 0));
    const s: [number, number, number, number] = [mix(), mix(), mix(), mix()];
    const stream = new RandomStream(seed >>> 0, name, s);
    for (let i = 0; i < 12; i++) stream.nextUint32(); // warm up, as sfc32's authors advise
    return stream;
  }

  /** Restores a stream saved with `state()`. */
  static fromState(seed: number, name: string, state: RandomState): RandomStream {
    return new RandomStream(seed, name, state);
  }

  /**
   * A child stream named `name`: a function of this stream's seed and name only,
   * never of how many numbers this stream has drawn.
   */
  fork(name: string): RandomStream {
    return RandomStream.fromSeed(hashString32(`${this.name}/${name}`, this.seed), `${this.name}/${name}`);
  }

  /** The generator state, for checkpoints. */
  state(): RandomState {
    return [this.a, this.b, this.c, this.d];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform on [0, 1) with 53 bits of resolution. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform on (0, 1]: safe under log. */
  uniformPositive(): number {
    return 1 - this.uniform();
  }

  /** Uniform on [low, high). */
  between(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box-Muller, one value per pair: the state stays four words). */
  normal(): number {
    const u = this.uniformPositive();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with the given mean. */
  exponential(mean = 1): number {
    return -mean * Math.log(this.uniformPositive());
  }

  /** Gamma(shape, 1), Marsaglia-Tsang; shape < 1 through the boost Gamma(shape+1)·U^(1/shape). */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.uniformPositive(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniformPositive();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** One draw of a symmetric Dirichlet(alpha) over `k` categories. */
  dirichlet(alpha: number, k: number): number[] {
    const g = Array.from({ length: k }, () => this.gamma(alpha));
    const sum = g.reduce((s, x) => s + x, 0);
    return sum > 0 ? g.map((x) => x / sum) : g.map(() => 1 / k);
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }
}
