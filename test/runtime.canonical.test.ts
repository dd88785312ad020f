/**
 * canonicalJson against an independent writer (sorted copies of the key lists, parts joined),
 * including past its memos' bounds: the same key list in another order, more key lists and
 * strings than the memos keep, long and escaped strings.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../runtime/canonical';

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

describe('sha256Hex', () => {
  it('is the sha256 of a Hash object, for text and for bytes', () => {
    for (const input of ['', 'abc', '{"seq":1,"payload":{"bits":64,"value":3}}', new Uint8Array([0, 1, 2, 255]), Buffer.from('é✓')])
      expect(sha256Hex(input)).toBe(createHash('sha256').update(input).digest('hex'));
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'); // FIPS 180-2's example
  });
});
