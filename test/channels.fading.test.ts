/**
 * Geometry, fading statistics on seeded draws, determinism, and recorded traces (MODEL.md §3).
 * Every statistical check runs at a fixed seed, so it passes or fails the same way every time;
 * the bounds are the usual 1% critical values, or 4 standard errors.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RandomStream } from '../util/random';
import {
  createCell,
  createFadingProcess,
  jakesCorrelation,
  parseTrace,
  TraceError,
  ChannelParamsError,
  type CellParams,
  type FadingParams,
  type FadingState,
} from '../channels';

const CELL: CellParams = { radiusM: 500, minDistanceM: 50, shadowingDb: 8 };
const fadingParams = (over: Partial<FadingParams> = {}): FadingParams => ({
  model: 'rayleigh',
  ricianK: 3,
  dopplerHz: 10,
  slotS: 0.01,
  ...over,
});
const channelStream = (seed = 1) => RandomStream.fromSeed(seed).fork('channel');

/** Kolmogorov-Smirnov distance between a sample and a continuous CDF. */
function ksDistance(sample: readonly number[], cdf: (x: number) => number): number {
  const xs = [...sample].sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  xs.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  });
  return d;
}
/** Asymptotic 1% critical value of the one-sample KS statistic. */
const ks1pct = (n: number) => 1.628 / Math.sqrt(n);
const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const variance = (xs: readonly number[]) => {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
};

describe('cell geometry (MODEL.md §3)', () => {
  const cell = createCell(CELL, 4000, channelStream(7));
  it('places devices uniformly over the annulus area between d_min and R', () => {
    for (const d of cell.distancesM) {
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(500);
    }
    // Uniform over the area ⇔ (d² − d_min²)/(R² − d_min²) ~ U(0, 1).
    const u = cell.distancesM.map((d) => (d * d - 2500) / (250000 - 2500));
    expect(ksDistance(u, (x) => Math.min(1, Math.max(0, x)))).toBeLessThan(ks1pct(u.length));
    const worst = Math.max(...cell.distancesM.map((d, k) => Math.abs(Math.hypot(cell.xM[k] as number, cell.yM[k] as number) - d)));
    expect(worst).toBeLessThan(1e-9);
  });
  it('draws shadowing N(0, σ_sh²) once per device and composes the large-scale gain', () => {
    expect(Math.abs(mean(cell.shadowingDb))).toBeLessThan((4 * 8) / Math.sqrt(4000));
    expect(Math.sqrt(variance(cell.shadowingDb))).toBeCloseTo(8, 0);
    const k = 17;
    const expected = Math.pow(
      10,
      (-(128.1 + 37.6 * Math.log10((cell.distancesM[k] as number) / 1000)) - (cell.shadowingDb[k] as number)) / 10,
    );
    expect(cell.largeScaleGain[k]).toBeCloseTo(expected, 25);
  });
  it("a device's position and shadowing do not depend on how many devices exist", () => {
    const small = createCell(CELL, 5, channelStream(7));
    expect(small.distancesM).toEqual(cell.distancesM.slice(0, 5));
    expect(small.shadowingDb).toEqual(cell.shadowingDb.slice(0, 5));
    expect(createCell(CELL, 5, channelStream(8)).distancesM).not.toEqual(small.distancesM);
  });
  it('rejects bad geometry, naming the field', () => {
    expect(() => createCell({ ...CELL, minDistanceM: 600 }, 3, channelStream())).toThrow(
      /cell.radiusM: must exceed cell.minDistanceM \(600 m\)/,
    );
    expect(() => createCell({ ...CELL, shadowingDb: -1 }, 3, channelStream())).toThrow(ChannelParamsError);
  });
});

describe('Rayleigh fading (MODEL.md §3)', () => {
  const cell = createCell(CELL, 50, channelStream());
  const process = createFadingProcess(fadingParams(), cell, channelStream());
  it('|h|² has mean 1 and passes a Kolmogorov-Smirnov test against Exp(1), across slots', () => {
    const one = createFadingProcess(fadingParams(), createCell(CELL, 4, channelStream()), channelStream());
    const powers = Array.from({ length: 4000 }, (_, t) => one.gainsForSlot(t).fadingPower[3] as number);
    expect(Math.abs(mean(powers) - 1)).toBeLessThan(4 / Math.sqrt(4000));
    expect(ksDistance(powers, (x) => 1 - Math.exp(-x))).toBeLessThan(ks1pct(4000));
  });
  it('and across devices within a slot; the gain is the large-scale gain times |h|²', () => {
    const many = createFadingProcess(fadingParams(), createCell(CELL, 4000, channelStream()), channelStream());
    const frame = many.gainsForSlot(12);
    expect(ksDistance(frame.fadingPower, (x) => 1 - Math.exp(-x))).toBeLessThan(ks1pct(4000));
    const f = process.gainsForSlot(5);
    expect(f.gain[2]).toBe((cell.largeScaleGain[2] as number) * (f.fadingPower[2] as number));
  });
  it('a Uniform sample fails the same test (the test has power)', () => {
    const s = RandomStream.fromSeed(1).fork('u');
    const uniform = Array.from({ length: 4000 }, () => 2 * s.uniform());
    expect(ksDistance(uniform, (x) => 1 - Math.exp(-x))).toBeGreaterThan(ks1pct(4000));
  });
  it("is deterministic: a device's draws depend on neither the device count nor the order slots are asked in", () => {
    const few = createFadingProcess(fadingParams(), createCell(CELL, 4, channelStream()), channelStream());
    const forward = [0, 1, 2, 3].map((t) => process.gainsForSlot(t).fadingPower[3]);
    const backward = [3, 2, 1, 0].map((t) => few.gainsForSlot(t).fadingPower[3]).reverse();
    expect(backward).toEqual(forward);
  });
});

describe('Rician fading (MODEL.md §3)', () => {
  it.each([0, 3, 10])('κ = %d: mean power 1 and variance (1 + 2κ)/(1 + κ)²', (kappa) => {
    const process = createFadingProcess(
      fadingParams({ model: 'rician', ricianK: kappa }),
      createCell(CELL, 20, channelStream()),
      channelStream(),
    );
    const powers: number[] = [];
    for (let t = 0; t < 500; t++) powers.push(...process.gainsForSlot(t).fadingPower);
    const v = (1 + 2 * kappa) / (1 + kappa) ** 2;
    expect(Math.abs(mean(powers) - 1)).toBeLessThan(4 * Math.sqrt(v / powers.length));
    expect(Math.abs(variance(powers) / v - 1)).toBeLessThan(0.06);
  });
  it('κ = 0 is Rayleigh: a KS test against Exp(1)', () => {
    const process = createFadingProcess(
      fadingParams({ model: 'rician', ricianK: 0 }),
      createCell(CELL, 1, channelStream(3)),
      channelStream(3),
    );
    const powers = Array.from({ length: 3000 }, (_, t) => process.gainsForSlot(t).fadingPower[0] as number);
    expect(ksDistance(powers, (x) => 1 - Math.exp(-x))).toBeLessThan(ks1pct(3000));
  });
});

describe('Gauss-Markov fading (MODEL.md §3)', () => {
  const params = fadingParams({ model: 'gauss-markov', dopplerHz: 10, slotS: 0.01 });
  const rho = jakesCorrelation(10, 0.01);
  const K = 100;
  const T = 300;
  const process = createFadingProcess(params, createCell(CELL, K, channelStream()), channelStream());
  const states: FadingState[] = [];
  const powers: number[][] = [];
  let state = process.initialState();
  for (let t = 0; t < T; t++) {
    const [next, frame] = process.step(state, t);
    states.push(next);
    powers.push([...frame.fadingPower]);
    state = next;
  }
  it('has ρ = J0(2π f_D T_slot) ≈ 0.90371', () => {
    expect(process.correlation).toBeCloseTo(0.9037126420924663, 12);
    expect(process.correlation).toBe(rho);
  });
  it('lag-1 correlation of h matches ρ, that of |h|² matches ρ², and the mean power stays 1', () => {
    let cross = 0,
      norm = 0;
    for (let t = 0; t + 1 < T; t++)
      for (let k = 0; k < K; k++) {
        const a = states[t] as FadingState,
          b = states[t + 1] as FadingState;
        cross += (a.hRe[k] as number) * (b.hRe[k] as number) + (a.hIm[k] as number) * (b.hIm[k] as number);
        norm += (a.hRe[k] as number) ** 2 + (a.hIm[k] as number) ** 2;
      }
    expect(Math.abs(cross / norm - rho)).toBeLessThan(0.01);
    const flat = powers.flat();
    const m = mean(flat);
    expect(Math.abs(m - 1)).toBeLessThan(0.05);
    let c = 0,
      v = 0;
    for (let t = 0; t + 1 < T; t++)
      for (let k = 0; k < K; k++) {
        c += ((powers[t]?.[k] as number) - m) * ((powers[t + 1]?.[k] as number) - m);
        v += ((powers[t]?.[k] as number) - m) ** 2;
      }
    expect(Math.abs(c / v - rho * rho)).toBeLessThan(0.03);
  });
  it('resumes exactly from a saved state, and gainsForSlot agrees with stepping', () => {
    const saved = JSON.parse(JSON.stringify(states[99])) as FadingState;
    const [, resumed] = process.step(saved, 100);
    expect(resumed.fadingPower).toEqual(powers[100]);
    const fresh = createFadingProcess(params, createCell(CELL, K, channelStream()), channelStream());
    expect(fresh.gainsForSlot(150).fadingPower).toEqual(powers[150]);
    expect(fresh.gainsForSlot(20).fadingPower).toEqual(powers[20]); // going back restarts from slot 0
    expect(() => process.step(states[10] as FadingState, 5)).toThrow(/cannot go back/);
  });
  it('f_D = 0 (ρ = 1) freezes the channel', () => {
    const frozen = createFadingProcess({ ...params, dopplerHz: 0 }, createCell(CELL, 3, channelStream()), channelStream());
    expect(frozen.gainsForSlot(7).fadingPower).toEqual(frozen.gainsForSlot(0).fadingPower);
  });
});

describe('recorded traces (MODEL.md §3)', () => {
  const cell = createCell(CELL, 2, channelStream());
  const csv = [
    '# a 2-device, 3-slot trace',
    'device,slot,gain',
    '0,0,1e-10',
    '0,1,2e-10',
    '0,2,3e-10',
    'd1,0,4e-12',
    '1,2,6e-12',
    '1,1,5e-12',
    '',
  ].join('\n');
  it('reads CSV (header, comments, ids, any row order) and JSON alike', () => {
    const trace = parseTrace(csv, 'cell.csv');
    expect(trace).toMatchObject({
      deviceCount: 2,
      slotCount: 3,
      gains: [
        [1e-10, 2e-10, 3e-10],
        [4e-12, 5e-12, 6e-12],
      ],
    });
    const json = JSON.stringify([
      { device: 0, slot: 0, gain: 1e-10 },
      { device: 0, slot: 1, gain: 2e-10 },
      { device: 0, slot: 2, gain: 3e-10 },
      [1, 0, 4e-12],
      [1, 1, 5e-12],
      { device: 'd1', slot: 2, gain: 6e-12 },
    ]);
    expect(parseTrace(json, 'cell.json').gains).toEqual(trace.gains);
    expect(parseTrace('0,0,1\n0,1,2\n', 'bare').gains).toEqual([[1, 2]]);
  });
  it('replaces the whole gain in the fading process', () => {
    const process = createFadingProcess(fadingParams({ model: 'trace' }), cell, channelStream(), {
      trace: parseTrace(csv, 'cell.csv'),
      slotCount: 3,
    });
    const frame = process.gainsForSlot(1);
    expect(frame.gain).toEqual([2e-10, 5e-12]);
    expect(frame.fadingPower[0]).toBeCloseTo(2e-10 / (cell.largeScaleGain[0] as number), 12);
  });
  it('loads a file named by channel.fading.tracePath', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlora-trace-'));
    const file = join(dir, 'trace.csv');
    writeFileSync(file, csv);
    const process = createFadingProcess(fadingParams({ model: 'trace', tracePath: file }), cell, channelStream());
    expect(process.gainsForSlot(2).gain).toEqual([3e-10, 6e-12]);
    expect(() => createFadingProcess(fadingParams({ model: 'trace', tracePath: join(dir, 'none.csv') }), cell, channelStream())).toThrow(
      /none\.csv: cannot read file \(ENOENT\)/,
    );
    expect(() => createFadingProcess(fadingParams({ model: 'trace' }), cell, channelStream())).toThrow(
      /channel.fading.tracePath: is required/,
    );
  });
  it.each([
    [
      'a gain that is not a number',
      'device,slot,gain\n0,0,1e-10\n0,1,abc\n',
      /bad\.csv:3: gain must be a finite linear gain ≥ 0, got "abc"/,
    ],
    ['a negative gain', 'device,slot,gain\n0,0,-1\n', /bad\.csv:2: gain must be a finite linear gain ≥ 0, got "-1"/],
    ['a missing field', 'device,slot,gain\n0,0,1\n0,1\n', /bad\.csv:3: expected 3 fields \(device, slot, gain\), got 2/],
    ['a bad device', '0,0,1\nx1,1,1\n', /bad\.csv:2: device must be an integer ≥ 0 \(or an id like 'd3'\), got "x1"/],
    ['a fractional slot', '0,0.5,1\n', /bad\.csv:1: slot must be an integer ≥ 0, got "0.5"/],
    [
      'a header without gain',
      'device,slot,power\n0,0,1\n',
      /bad\.csv:1: header must name the columns device, slot, gain \(missing: gain\)/,
    ],
    ['a duplicate row', '0,0,1\n0,1,1\n0,0,2\n', /bad\.csv:3: device 0 slot 0 appears twice \(first at line 1\)/],
    ['a gap in the slots', '0,0,1\n0,2,1\n', /bad\.csv: device 0 has no gain for slot 1/],
    ['a device with fewer slots', '0,0,1\n0,1,1\n1,0,1\n', /bad\.csv: device 1 has 1 slots, device 0 has 2/],
    ['a missing device', '0,0,1\n2,0,1\n', /bad\.csv: device 1 has no rows/],
    ['no rows at all', '# nothing\n', /bad\.csv: the trace has no rows/],
  ])('a malformed CSV trace (%s) is a TraceError naming file, line and problem', (_what, text, message) => {
    expect(() => parseTrace(text, 'bad.csv')).toThrow(TraceError);
    expect(() => parseTrace(text, 'bad.csv')).toThrow(message);
  });
  it('a malformed JSON trace names the entry', () => {
    expect(() => parseTrace('{"device": 0}', 'bad.json')).toThrow(/bad\.json: expected a JSON array/);
    expect(() => parseTrace('[{"device":0,"slot":0,"gain":1},{"device":0,"slot":1}]', 'bad.json')).toThrow(
      /bad\.json: entry \[1\]: gain must be a finite linear gain ≥ 0, got undefined/,
    );
    expect(() => parseTrace('[1, 2', 'bad.json')).toThrow(/bad\.json: not valid JSON/);
  });
  it('a trace too short for the run is rejected up front, or at the first missing slot', () => {
    const trace = parseTrace(csv, 'cell.csv');
    expect(() => createFadingProcess(fadingParams({ model: 'trace' }), cell, channelStream(), { trace, slotCount: 10 })).toThrow(
      /cell\.csv: trace too short: it has 3 slots, the run needs 10/,
    );
    expect(() =>
      createFadingProcess(fadingParams({ model: 'trace' }), createCell(CELL, 5, channelStream()), channelStream(), { trace }),
    ).toThrow(/trace too short: it covers 2 devices, the run has 5/);
    const process = createFadingProcess(fadingParams({ model: 'trace' }), cell, channelStream(), { trace });
    const error = (() => {
      try {
        process.gainsForSlot(3);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TraceError);
    expect(error).toMatchObject({ file: 'cell.csv', problem: 'trace too short: it has 3 slots, slot 3 was asked for' });
  });
});
