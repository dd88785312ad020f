/**
 * The digest that stands for a tensor (or a long array) in the event log's payload summaries:
 * 64 bits, as 16 hex digits. Logs of format version 1 used the first 64 bits of sha256; from
 * version 2 on it is XXH64 (seed 0), eight times faster here (12 against 1.5 GB/s,
 * docs/stack.md), because every activation and gradient that crosses the cut is
 * digested on the worker's critical path. XXH64 runs natively where @node-rs/xxhash has a build
 * for the platform (it hashes the bytes where they are), else in WebAssembly (xxhash-wasm, which
 * first copies them into its memory): the same values either way. The log's running hash, which chains the events,
 * stays sha256. A digest only has to tell two runs' payloads apart, not resist an adversary:
 * 64 bits of either do that.
 */
import { sha256Hex } from './canonical';

/** A payload digest by name: the summary field that carries it. */
export type PayloadDigestName = 'sha256' | 'xxh64';

/** The payload digest of each event-log format version. */
const DIGEST_OF_VERSION: Readonly<Record<number, PayloadDigestName>> = { 1: 'sha256', 2: 'xxh64', 3: 'xxh64' };

/** A digest ready to use synchronously. */
export interface PayloadDigest {
  /** The summary's field that holds the digest: `{ $type, length, [name]: hex }`. */
  readonly name: PayloadDigestName;
  /** 16 hex digits. */
  hex(bytes: Uint8Array): string;
}

/** Asked for a log version or digest this code does not know. */
export class PayloadDigestError extends Error {
  override readonly name = 'PayloadDigestError';
}

export const SHA256_DIGEST: PayloadDigest = { name: 'sha256', hex: (bytes) => sha256Hex(bytes).slice(0, 16) };

/** The payload digest of a log of format `version`. */
export function payloadDigestOfVersion(version: number): PayloadDigestName {
  const name = DIGEST_OF_VERSION[version];
  if (!name)
    throw new PayloadDigestError(
      `event log version ${JSON.stringify(version)}: known versions are ${Object.keys(DIGEST_OF_VERSION).join(', ')}`,
    );
  return name;
}

let xxh64: Promise<PayloadDigest> | undefined;

/** The digest `name`; XXH64 loads once per thread (a failed load is retried next time). */
export function loadPayloadDigest(name: PayloadDigestName): Promise<PayloadDigest> {
  switch (name) {
    case 'sha256':
      return Promise.resolve(SHA256_DIGEST);
    case 'xxh64':
      xxh64 ??= loadXxh64().catch((cause: unknown) => {
        xxh64 = undefined;
        throw new PayloadDigestError(
          `XXH64, the payload digest of event log version 2, needs @node-rs/xxhash or WebAssembly (xxhash-wasm): ${(cause as Error)?.message ?? String(cause)}`,
          { cause },
        );
      });
      return xxh64;
    default:
      return Promise.reject(new PayloadDigestError(`unknown payload digest ${JSON.stringify(name)} (expected sha256 or xxh64)`));
  }
}

/** XXH64 natively when the addon loads, else in WebAssembly. */
async function loadXxh64(): Promise<PayloadDigest> {
  return (await loadNativeXxh64()) ?? loadWasmXxh64();
}

/**
 * XXH64 by the native addon (@node-rs/xxhash: about 1.5 times the speed of the WebAssembly one on a
 * round's tensors, docs/stack.md), or undefined where it has no build for this platform.
 */
export async function loadNativeXxh64(): Promise<PayloadDigest | undefined> {
  let native: typeof import('@node-rs/xxhash');
  try {
    native = await import('@node-rs/xxhash');
  } catch {
    return undefined;
  }
  return { name: 'xxh64', hex: (bytes: Uint8Array) => hex64(native.xxh64(bytes, 0n)) };
}

/** XXH64 in WebAssembly (xxhash-wasm): runs everywhere. */
export async function loadWasmXxh64(): Promise<PayloadDigest> {
  const { default: xxhash } = await import('xxhash-wasm');
  const { h64Raw } = await xxhash();
  return { name: 'xxh64', hex: (bytes: Uint8Array) => hex64(h64Raw(bytes, 0n)) };
}

/** A 64-bit hash as 16 hex digits. */
function hex64(hash: bigint): string {
  return hash.toString(16).padStart(16, '0');
}
