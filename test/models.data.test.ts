/** The digits task and the non-IID partition (MODEL.md §1, §8). */
import { DigitsError, PartitionError, loadDigits, partitionDirichlet, selectRows, sliceRows } from '../models';
import { RandomStream } from '../util/random';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allDigits, binaryCachePath, parseDigits, readBinaryCache, writeBinaryCache } from '../models/data/digits';

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('loadDigits', () => {
  it('is deterministic, balanced enough, and keeps train and test apart', () => {
    const a = loadDigits(8000, 1000);
    const b = loadDigits(8000, 1000);
    expect(a.train.count).toBe(8000);
    expect(a.test.count).toBe(1000);
    expect(Array.from(a.test.labels.slice(0, 20))).toEqual(Array.from(b.test.labels.slice(0, 20)));
    expect(a.train.features.length).toBe(8000 * 784);
    const counts = new Array<number>(10).fill(0);
    for (const l of a.test.labels) counts[l] = (counts[l] as number) + 1;
    for (const c of counts) expect(c).toBeGreaterThan(60);
    // A smaller train split is a prefix of the larger one; the test split never moves.
    const small = loadDigits(100, 1000);
    expect(Array.from(small.train.labels)).toEqual(Array.from(a.train.labels.slice(0, 100)));
    expect(Array.from(small.test.features.slice(0, 784))).toEqual(Array.from(a.test.features.slice(0, 784)));
    let max = 0;
    for (let i = 0; i < 784 * 10; i++) max = Math.max(max, a.train.features[i] as number);
    expect(max).toBeLessThanOrEqual(1);
  });

  it('refuses more digits than the package ships', () => {
    expect(() => loadDigits(9500, 1000)).toThrow(DigitsError);
    expect(() => loadDigits(9500, 1000)).toThrow('trainCount + testCount must be at most 10000, got 9500 + 1000');
  });
});

describe('sliceRows', () => {
  it('is selectRows of the same contiguous rows, as views on the data set; refuses rows outside it', () => {
    const { test } = loadDigits(100, 1000);
    const slice = sliceRows(test, 375, 500);
    const copy = selectRows(
      test,
      Array.from({ length: 125 }, (_, i) => 375 + i),
    );
    expect({ ...slice, features: bytesOf(slice.features), labels: bytesOf(slice.labels) }).toEqual({
      ...copy,
      features: bytesOf(copy.features),
      labels: bytesOf(copy.labels),
    });
    expect(slice.features.buffer).toBe(test.features.buffer);
    expect(sliceRows(test, 1000, 1000).count).toBe(0);
    expect(() => sliceRows(test, 900, 1001)).toThrow('sliceRows: rows [900, 1001) are not within the 1000 rows of the data set');
    expect(() => sliceRows(test, 10, 5)).toThrow(RangeError);
  });
});

describe('the digits binary cache', () => {
  it('holds exactly what parsing the package gives; a truncated, altered or missing file is ignored', () => {
    // Prepare: a cache written to a folder of the test's own (the real one may be read-only).
    const dir = mkdtempSync(join(tmpdir(), 'airlora-digits-'));
    const path = join(dir, 'digits.bin');
    const parsed = parseDigits();
    // Execute
    writeBinaryCache(path, parsed);
    const cached = readBinaryCache(path);
    // Assert
    expect(cached).toBeDefined();
    expect(cached!.count).toBe(parsed.count);
    expect(bytesOf(cached!.features).equals(bytesOf(parsed.features))).toBe(true);
    expect(bytesOf(cached!.labels).equals(bytesOf(parsed.labels))).toBe(true);
    expect(bytesOf(allDigits().features).equals(bytesOf(parsed.features))).toBe(true); // through the real cache path, if writable
    expect(binaryCachePath()).toMatch(/digits-.*-v\d+\.bin$/);
    const whole = readFileSync(path);
    writeFileSync(join(dir, 'truncated.bin'), whole.subarray(0, 1000));
    expect(readBinaryCache(join(dir, 'truncated.bin'))).toBeUndefined();
    const altered = Buffer.from(whole);
    altered[100_000] = (altered[100_000] as number) ^ 1; // one bit of one pixel
    writeFileSync(join(dir, 'altered.bin'), altered);
    expect(readBinaryCache(join(dir, 'altered.bin'))).toBeUndefined();
    expect(readBinaryCache(join(dir, 'missing.bin'))).toBeUndefined();
  });
});

describe('partitionDirichlet', () => {
  const labels = Int32Array.from({ length: 2000 }, (_, i) => i % 10);

  it('assigns every sample to exactly one device, each device at least a few', () => {
    const parts = partitionDirichlet(labels, 50, 0.5, 0, RandomStream.fromSeed(1, 'part'));
    const all = parts.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    for (const p of parts) expect(p.length).toBe(40);
  });

  it('is seeded: the same stream gives the same partition', () => {
    const a = partitionDirichlet(labels, 10, 0.5, 1, RandomStream.fromSeed(2, 'part'));
    const b = partitionDirichlet(labels, 10, 0.5, 1, RandomStream.fromSeed(2, 'part'));
    expect(a).toEqual(b);
  });

  it('skews labels more for small α, and sizes with quantity skew', () => {
    const dominant = (parts: number[][]): number => {
      let s = 0;
      for (const p of parts) {
        const c = new Array<number>(10).fill(0);
        for (const i of p) c[labels[i] as number] = (c[labels[i] as number] as number) + 1;
        s += Math.max(...c) / p.length;
      }
      return s / parts.length;
    };
    const skewed = partitionDirichlet(labels, 20, 0.1, 0, RandomStream.fromSeed(3, 'part'));
    const iid = partitionDirichlet(labels, 20, 100, 0, RandomStream.fromSeed(3, 'part'));
    expect(dominant(skewed)).toBeGreaterThan(0.5);
    expect(dominant(iid)).toBeLessThan(0.3);
    const sized = partitionDirichlet(labels, 20, 0.5, 0.5, RandomStream.fromSeed(4, 'part'));
    const sizes = sized.map((p) => p.length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...sizes)).toBeGreaterThan(200);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(2000);
  });

  it('fails clearly on impossible requests', () => {
    expect(() => partitionDirichlet(labels.slice(0, 5), 10, 0.5, 0, RandomStream.fromSeed(1))).toThrow(PartitionError);
    expect(() => partitionDirichlet(labels, 10, 0, 0, RandomStream.fromSeed(1))).toThrow(/dirichletAlpha must be > 0/);
  });
});
