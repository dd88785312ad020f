/**
 * Canonical forms for the event log (INTERFACE.md "events.jsonl"): a JSON text that does not
 * depend on key insertion order, payload summaries (sizes in bits; typed arrays and long
 * arrays as digests, never values), and the typed-array buffers a payload can move.
 */
import * as crypto from 'node:crypto';
import type { PayloadSummary } from './protocol';
import type { PayloadDigest } from './payloadDigest';
import { isSharedBuffer } from '../util/sharedTensors';

/** Arrays longer than this are logged as a digest, not element by element. */
export const MAX_LOGGED_ARRAY = 32;

/** JSON with object keys sorted at every level; non-finite numbers as strings, undefined fields dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case 'string':
      return quoted(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(`${value}n`);
    case 'object':
      break;
    default:
      return 'null';
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const { sorted, prefixes } = keyOrder(Object.keys(obj));
  let out = '{';
  let first = true;
  for (let i = 0; i < sorted.length; i++) {
    const v = obj[sorted[i] as string];
    if (v === undefined) continue;
    out += (first ? '' : ',') + (prefixes[i] as string) + canonicalJson(v);
    first = false;
  }
  return `${out}}`;
}

/*
 * Memos of canonicalJson (the log writes a few thousand objects a round, with the same few key
 * lists and short strings over and over): JSON.stringify of a key and the sort of a key list cost
 * more than finding them again. Both are bounded; a string or a key list past the bounds is
 * formatted afresh, with the same text.
 */

/** Strings up to this length have their JSON text remembered. */
const MEMO_STRING_LENGTH = 64;
/** At most this many strings remembered (then the memo starts again). */
const MEMO_STRINGS = 4096;
const quotedMemo = new Map<string, string>();

/** JSON.stringify(text), remembered for short strings. */
function quoted(text: string): string {
  if (text.length > MEMO_STRING_LENGTH) return JSON.stringify(text);
  let q = quotedMemo.get(text);
  if (q === undefined) {
    q = JSON.stringify(text);
    if (quotedMemo.size >= MEMO_STRINGS) quotedMemo.clear();
    quotedMemo.set(text, q);
  }
  return q;
}

/** An object's keys in sorted order, each with its `"key":` text. */
interface KeyOrder {
  readonly keys: readonly string[];
  readonly sorted: readonly string[];
  readonly prefixes: readonly string[];
}

/** Key lists with more keys than this are sorted afresh each time. */
const MEMO_KEYS = 64;
/** At most this many key lists remembered (then the memo starts again). */
const MEMO_KEY_LISTS = 1024;
/** Remembered key lists by their first key (the keys in the object's own order). */
const keyOrders = new Map<string, KeyOrder[]>();
let keyOrderCount = 0;

function keyOrder(keys: string[]): KeyOrder {
  const n = keys.length;
  if (n === 0 || n > MEMO_KEYS) return sortKeys(keys);
  const first = keys[0] as string;
  const known = keyOrders.get(first);
  if (known)
    for (const o of known) {
      if (o.keys.length !== n) continue;
      let i = 1;
      while (i < n && o.keys[i] === keys[i]) i++;
      if (i === n) return o;
    }
  const order = sortKeys(keys);
  if (keyOrderCount >= MEMO_KEY_LISTS) {
    keyOrders.clear();
    keyOrderCount = 0;
  }
  const bucket = keyOrders.get(first);
  if (bucket) bucket.push(order);
  else keyOrders.set(first, [order]);
  keyOrderCount++;
  return order;
}

function sortKeys(keys: string[]): KeyOrder {
  const sorted = keys.slice().sort();
  return { keys, sorted, prefixes: sorted.map((k) => `${quoted(k)}:`) };
}

/**
 * Node's one-shot digest (Node 20.12 on): about 1.6 times the speed of a Hash object on an event's
 * text (the log chains one sha256 per event); absent before 20.12, where a Hash object does it.
 */
const oneShotHash = (crypto as { hash?: typeof crypto.hash }).hash;

/** sha256 in hex. */
export function sha256Hex(text: string | Uint8Array): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');
}

/** The bytes of a typed array's view (not its whole buffer). */
function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function typedName(view: ArrayBufferView): string {
  return view.constructor.name;
}

/**
 * The payload summary written to the log: `bits` is the in-memory size of the payload
 * (typed arrays: their bytes; numbers 64 bits; strings their UTF-8 bytes; booleans 8), and
 * `value` is the payload with every typed array, and every array longer than
 * MAX_LOGGED_ARRAY, replaced by `{ $type, length, [digest.name]: 16 hex digits }` (the log's
 * version says which digest: runtime/payloadDigest.ts). `buffers`, when given, receives every
 * buffer of the payload, shared ones too, as `collectBuffers(value, buffers, true)` would (one walk for both).
 */
export function summarizePayload(value: unknown, digest: PayloadDigest, buffers?: Set<ArrayBufferLike>): PayloadSummary {
  let bits = 0;
  const walk = (v: unknown): unknown => {
    if (v === null || v === undefined) return null;
    switch (typeof v) {
      case 'number':
        bits += 64;
        return v;
      case 'boolean':
        bits += 8;
        return v;
      case 'string':
        bits += Buffer.byteLength(v) * 8;
        return v;
      case 'bigint':
        bits += 64;
        return `${v}n`;
      case 'object':
        break;
      default:
        return null;
    }
    if (ArrayBuffer.isView(v)) {
      bits += v.byteLength * 8;
      if (buffers) addBuffer(v, buffers, true);
      return {
        $type: typedName(v),
        length: (v as unknown as { length?: number }).length ?? v.byteLength,
        [digest.name]: digest.hex(bytesOf(v)),
      };
    }
    if (v instanceof ArrayBuffer) {
      bits += v.byteLength * 8;
      if (buffers) addBuffer(v, buffers, true);
      return { $type: 'ArrayBuffer', length: v.byteLength, [digest.name]: digest.hex(new Uint8Array(v)) };
    }
    if (Array.isArray(v)) {
      const items = v.map(walk);
      if (items.length <= MAX_LOGGED_ARRAY) return items;
      return { $type: 'Array', length: items.length, [digest.name]: digest.hex(Buffer.from(canonicalJson(items))) };
    }
    if (v instanceof Map) return { $type: 'Map', entries: walk([...v.entries()]) };
    if (v instanceof Set) return { $type: 'Set', values: walk([...v.values()]) };
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object)) out[k] = walk((v as Record<string, unknown>)[k]);
    return out;
  };
  const summary = walk(value);
  return { bits, value: summary };
}

/** Objects a walk of `collectBuffers` visits without remembering them before it starts again remembering them. */
const UNREMEMBERED_OBJECTS = 100_000;

/**
 * Every distinct transferable ArrayBuffer under `value` (SharedArrayBuffers are shared, not moved).
 * A plain walk first (a state or a body is a tree: remembering every object costs more than the
 * walk); a graph it cannot walk so (a Map or a Set, a cycle, more than UNREMEMBERED_OBJECTS
 * objects) is walked again remembering the objects met.
 */
export function collectBuffers(value: unknown, into?: Set<ArrayBuffer>): Set<ArrayBuffer>;
/** With `shared`, every buffer under `value`, SharedArrayBuffers too (what an actor's message may not share with the actor that keeps it). */
export function collectBuffers(value: unknown, into: Set<ArrayBufferLike> | undefined, shared: true): Set<ArrayBufferLike>;
export function collectBuffers(value: unknown, into: Set<ArrayBufferLike> = new Set(), shared = false): Set<ArrayBufferLike> {
  if (addTreeBuffers(value, into, UNREMEMBERED_OBJECTS, shared) < 0) addGraphBuffers(value, into, new Set(), shared);
  return into;
}

/** Adds the buffer a view or a buffer moves, if it can be moved (not empty or detached; shared only with `shared`). */
function addBuffer(value: ArrayBufferView | ArrayBufferLike, into: Set<ArrayBufferLike>, shared: boolean): void {
  const buffer = ArrayBuffer.isView(value) ? value.buffer : value;
  if ((buffer instanceof ArrayBuffer || (shared && isSharedBuffer(buffer))) && buffer.byteLength > 0) into.add(buffer);
}

/** A plain object: its prototype is Object's or none (checked first in the walks: most nodes are). */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A view or a buffer, shared or not (for a value that is not a plain object: the shared check reads its tag). */
function isBufferLike(value: object): value is ArrayBufferView | ArrayBufferLike {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer || (!isPlainObject(value) && isSharedBuffer(value));
}

/** Adds the buffers of a tree of plain objects and arrays; the budget of objects left, negative if it gave up. */
function addTreeBuffers(value: unknown, into: Set<ArrayBufferLike>, budget: number, shared: boolean): number {
  if (value === null || typeof value !== 'object') return budget;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    addBuffer(value, into, shared);
    return budget;
  }
  if (--budget < 0) return -1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && budget >= 0; i++) budget = addTreeBuffers(value[i], into, budget, shared);
    return budget;
  }
  if (!isPlainObject(value)) {
    if (value instanceof Map || value instanceof Set) return -1;
    if (isSharedBuffer(value)) {
      addBuffer(value, into, shared);
      return budget;
    }
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length && budget >= 0; i++)
    budget = addTreeBuffers((value as Record<string, unknown>)[keys[i] as string], into, budget, shared);
  return budget;
}

function addGraphBuffers(value: unknown, into: Set<ArrayBufferLike>, seen: Set<object>, shared: boolean): void {
  if (value === null || typeof value !== 'object') return;
  if (isBufferLike(value)) return addBuffer(value, into, shared);
  if (seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) for (const v of value) addGraphBuffers(v, into, seen, shared);
  else if (value instanceof Map)
    for (const entry of value) for (const x of entry) addGraphBuffers(x, into, seen, shared); // key, then value
  else if (value instanceof Set) for (const v of value) addGraphBuffers(v, into, seen, shared);
  else for (const k of Object.keys(value)) addGraphBuffers((value as Record<string, unknown>)[k], into, seen, shared);
}

/** Typed arrays that a structured clone gives back as themselves (a Buffer comes back a Uint8Array). */
const CLONED_AS_THEMSELVES = new Set([
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
]);

/**
 * Whether a structured clone of `value` gives `summarizePayload` the same summary as `value`: a tree
 * (at most UNREMEMBERED_OBJECTS objects) of plain objects, arrays, Maps, Sets, primitives other
 * than functions and symbols, buffers and typed arrays of the standard classes. Anything else (a
 * Buffer, a class instance, a function, a cycle) is summarised where it is. Its buffers, shared ones
 * too, go into `into` as it walks.
 */
export function clonesFaithfully(value: unknown, into: Set<ArrayBufferLike>): boolean {
  return faithfulTree(value, into, { left: UNREMEMBERED_OBJECTS });
}

function faithfulTree(v: unknown, into: Set<ArrayBufferLike>, budget: { left: number }): boolean {
  if (v === null) return true;
  const type = typeof v;
  if (type !== 'object') return type !== 'function' && type !== 'symbol';
  if (--budget.left < 0) return false;
  const o = v as Record<string, unknown>;
  if (ArrayBuffer.isView(o)) {
    addBuffer(o, into, true);
    return CLONED_AS_THEMSELVES.has(o.constructor?.name ?? '');
  }
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) if (!faithfulTree(o[i], into, budget)) return false;
    return true;
  }
  if (isPlainObject(o)) {
    const keys = Object.keys(o);
    for (let i = 0; i < keys.length; i++) if (!faithfulTree(o[keys[i] as string], into, budget)) return false;
    return true;
  }
  if (o instanceof ArrayBuffer || isSharedBuffer(o)) {
    addBuffer(o as unknown as ArrayBufferLike, into, true);
    return true;
  }
  if (o instanceof Map) {
    for (const [k, x] of o) if (!faithfulTree(k, into, budget) || !faithfulTree(x, into, budget)) return false;
    return true;
  }
  if (o instanceof Set) {
    for (const x of o) if (!faithfulTree(x, into, budget)) return false;
    return true;
  }
  return false;
}

/** Whether `value` holds any typed array or ArrayBuffer (cheap pre-check before moving). */
export function hasBuffers(value: unknown): boolean {
  return collectBuffers(value).size > 0;
}
