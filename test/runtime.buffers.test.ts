/** The buffers a payload or a state holds (what a send moves or must copy): every shape a walk can meet. */
import { collectBuffers, summarizePayload } from '../runtime/canonical';
import { SHA256_DIGEST } from '../runtime/payloadDigest';

const sorted = (s: Set<ArrayBufferLike>): number[] => [...s].map((b) => b.byteLength).sort((a, b) => a - b);
// Views on buffers made here: under jest, `new Float32Array(n)` gets its buffer from another realm (not `instanceof ArrayBuffer`).
const view = <T>(Type: new (b: ArrayBuffer) => T, bytes: number): T => new Type(new ArrayBuffer(bytes));

describe('collectBuffers', () => {
  it('finds each buffer once in a tree: views, bare buffers, shared subtrees', () => {
    const a = view(Float32Array, 16);
    const b = new Uint8Array(new ArrayBuffer(12), 4, 4); // a view on part of a buffer: the whole buffer moves
    const shared = Object.freeze({ w: a });
    const value = { x: [a, { y: b }], z: new ArrayBuffer(8), s: shared, t: [shared, 'text', 3, null, undefined] };
    expect(sorted(collectBuffers(value))).toEqual([8, 12, 16]);
  });

  it('leaves out SharedArrayBuffers, empty and detached buffers', () => {
    const detached = new ArrayBuffer(8);
    structuredClone(detached, { transfer: [detached] });
    const value = { s: new Float32Array(new SharedArrayBuffer(16)), e: new Uint8Array(0), d: detached, kept: view(Int32Array, 8) };
    expect(sorted(collectBuffers(value))).toEqual([8]);
  });

  it('walks Maps (keys and values), Sets, class instances and cycles', () => {
    class Holder {
      constructor(readonly held: Float64Array) {}
    }
    const cyclic: Record<string, unknown> = { a: view(Float32Array, 4) };
    cyclic['self'] = cyclic;
    const value = {
      m: new Map<unknown, unknown>([[view(Uint8Array, 2), view(Uint8Array, 3)]]),
      s: new Set([view(Uint8Array, 5)]),
      h: new Holder(view(Float64Array, 8)),
      c: cyclic,
    };
    expect(sorted(collectBuffers(value))).toEqual([2, 3, 4, 5, 8]);
  });

  it('gives the same set past the objects it walks without remembering them (a wide DAG)', () => {
    const leaf = { v: view(Float32Array, 8) };
    let level: unknown[] = [leaf, { w: view(Float32Array, 12) }];
    for (let i = 0; i < 17; i++) level = [level, level]; // 2^17 paths to two leaves
    const into = new Set<ArrayBuffer>([new ArrayBuffer(1)]);
    expect(collectBuffers(level, into)).toBe(into);
    expect(sorted(into)).toEqual([1, 8, 12]);
  });
});

describe('summarizePayload with a set of buffers', () => {
  it('collects the same buffers as collectBuffers in the walk that summarizes (a send walks its body once)', () => {
    const a = view(Float32Array, 16);
    const value = {
      x: [a, { y: new Uint8Array(new ArrayBuffer(12), 4, 4) }],
      z: new ArrayBuffer(8),
      again: a,
      long: Array.from({ length: 40 }, (_, i) => (i === 39 ? view(Int32Array, 20) : i)),
      m: new Map<unknown, unknown>([[view(Uint8Array, 2), view(Uint8Array, 3)]]),
      s: new Set([view(Uint8Array, 5)]),
      skipped: [new Float32Array(new SharedArrayBuffer(16)), new Uint8Array(0)],
    };
    const into = new Set<ArrayBufferLike>();
    const summary = summarizePayload(value, SHA256_DIGEST, into);
    // Every buffer, the shared one too (a message may not alias it either); the transferable ones are the others.
    expect(sorted(into)).toEqual([2, 3, 5, 8, 12, 16, 16, 20]);
    expect(sorted(into)).toEqual(sorted(collectBuffers(value, undefined, true)));
    expect(sorted(collectBuffers(value))).toEqual([2, 3, 5, 8, 12, 16, 20]);
    expect(summarizePayload(value, SHA256_DIGEST)).toEqual(summary); // the set changes nothing of the summary
  });
});
