/**
 * canonicalJson against an independent writer (JSON.stringify over a copy with sorted keys),
 * including past its memos' bounds: the same key list in another order, more key lists and
 * strings than the memos keep, long and escaped strings.
 */
import fc from 'fast-check';
import { canonicalJson } from '../runtime/canonical';

/** The canonical form written another way: sorted copies of the key lists, parts joined, no memo. */
function reference(value: unknown): string {
  if (typeof value === 'number') return JSON.stringify(Number.isFinite(value) ? value : String(value));
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

describe('canonicalJson', () => {
  it('matches an independent writer on random values', () => {
    const key = fc.oneof(fc.constantFrom('a', 'b', 'slot', 'xxh64', '$type', '10', '2', 'é', 'a"b'), fc.string({ maxLength: 6 }));
    const leaf = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'grapheme', maxLength: 8 }),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 5 }),
        fc.dictionary(key, tie('node'), { maxKeys: 8 }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same text for the same keys in any order, past the memo of key lists', () => {
    for (let i = 0; i < 3000; i++) {
      const names = [`k${i % 1500}`, 'b', 'a', `z${i}`];
      const forward = Object.fromEntries(names.map((n, j) => [n, j]));
      const backward = Object.fromEntries([...names].reverse().map((n) => [n, names.indexOf(n)]));
      const text = reference(forward);
      expect(canonicalJson(forward)).toBe(text);
      expect(canonicalJson(backward)).toBe(text);
    }
  });

  it('writes strings as JSON.stringify does, past the memo of strings and for long ones', () => {
    const strings = ['plain', 'quote " and \\ backslash', 'line\nbreak\u0001', 'lone \ud800 surrogate', 'ü ✓ 😀', 'x'.repeat(65)];
    for (let i = 0; i < 5000; i++) strings.push(`device-${i}`);
    for (const s of strings) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
      expect(canonicalJson({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
    }
  });
});
