/**
 * canonicalJson against an independent writer (sorted copies of the key lists, parts joined),
 * including past its memos' bounds: the same key list in another order, more key lists and
 * strings than the memos keep, long and escaped strings. summarizePayloadText against
 * canonicalJson of summarizePayload's summary.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { canonicalJson, sha256Hex, summarizePayload, summarizePayloadText } from '../runtime/canonical';
import { loadPayloadDigest, SHA256_DIGEST } from '../runtime/payloadDigest';

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

describe('summarizePayloadText', () => {
  const key = fc.constantFrom('a', 'b', 'cut', 'slot', '$type', 'length', '10', 'x y');
  const typed = fc.oneof(
    fc.float32Array({ maxLength: 40 }),
    fc.int32Array({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }).map((a) => a.buffer),
    fc.float64Array({ minLength: 4, maxLength: 8 }).map((a) => a.subarray(1, 3)),
  );
  const leaf = fc.oneof(
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.string({ maxLength: 10 }),
    fc.bigInt(),
    typed,
  );
  const tree = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(tie('node'), { maxLength: 40 }),
      fc.sparseArray(tie('node'), { maxLength: 6 }),
      fc.dictionary(key, tie('node'), { maxKeys: 6 }),
      fc.array(fc.tuple(fc.string({ maxLength: 3 }), tie('node')), { maxLength: 3 }).map((e) => new Map(e)),
      fc.array(tie('node'), { maxLength: 3 }).map((e) => new Set(e)),
    ),
  })).node;

  it.each(['sha256', 'xxh64'] as const)('is the canonical text of summarizePayload, with its bits and buffers (%s)', async (name) => {
    const digest = name === 'sha256' ? SHA256_DIGEST : await loadPayloadDigest(name);
    fc.assert(
      fc.property(tree, (v) => {
        const objectBuffers = new Set<ArrayBuffer>();
        const textBuffers = new Set<ArrayBuffer>();
        const summary = summarizePayload(v, digest, objectBuffers);
        const written = summarizePayloadText(v, digest, textBuffers);
        expect(written.text).toBe(canonicalJson(summary.value));
        expect(written.bits).toBe(summary.bits);
        expect([...textBuffers]).toEqual([...objectBuffers]);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes a cut message as the log does', async () => {
    const digest = await loadPayloadDigest('xxh64');
    const body = { slot: 3, cut: { data: new Float32Array(16 * 17 * 128).fill(0.5), shape: [16, 17, 128] }, last: false };
    const { bits, text } = summarizePayloadText(body, digest);
    expect(bits).toBe(64 + 16 * 17 * 128 * 32 + 3 * 64 + 8);
    expect(text).toMatch(
      /^\{"cut":\{"data":\{"\$type":"Float32Array","length":34816,"xxh64":"[0-9a-f]{16}"\},"shape":\[16,17,128\]\},"last":false,"slot":3\}$/,
    );
  });
});
