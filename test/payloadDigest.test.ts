import { loadNativeXxh64, loadPayloadDigest, loadWasmXxh64 } from '../runtime/payloadDigest';
import { Worker } from 'node:worker_threads';
import { RandomStream } from '../util/random';

describe('payload digest: XXH64', () => {
  it('runs natively on this platform (linux x64), and loadPayloadDigest picks the native one', async () => {
    const native = await loadNativeXxh64();
    expect(native).toBeDefined();
    const chosen = await loadPayloadDigest('xxh64');
    const bytes = new TextEncoder().encode('abc');
    expect(chosen.hex(bytes)).toBe('44bc2cf5ad770999');
    expect(chosen.hex(bytes)).toBe(native!.hex(bytes));
  });

  it('loads in a worker thread too (where the hosts digest)', async () => {
    const code = `const { parentPort, workerData } = require('node:worker_threads');
      parentPort.postMessage(require(workerData).xxh64(new TextEncoder().encode('abc'), 0n).toString(16));`;
    const worker = new Worker(code, { eval: true, workerData: require.resolve('@node-rs/xxhash') });
    const answer = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    expect(answer).toBe('44bc2cf5ad770999');
  });

  it('gives the same values natively and in WebAssembly, on random bytes of several sizes and offsets', async () => {
    const native = (await loadNativeXxh64())!;
    const wasm = await loadWasmXxh64();
    const random = RandomStream.fromSeed(7);
    const backing = new Uint8Array(140_000 + 64);
    for (let i = 0; i < backing.length; i++) backing[i] = random.int(256);
    const seen = new Set<string>();
    for (const length of [0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 100, 4096, 5120, 139_264, 140_000])
      for (const offset of [0, 1, 3, 8, 13]) {
        const view = new Uint8Array(backing.buffer, offset, length);
        const hex = native.hex(view);
        expect(hex).toMatch(/^[0-9a-f]{16}$/);
        expect(wasm.hex(view)).toBe(hex);
        seen.add(hex);
      }
    expect(seen.size).toBe(16 * 5 - 4); // distinct except the five empty views
    // Published values (xxHash's test vectors, seed 0), by both.
    for (const d of [native, wasm]) {
      expect(d.hex(new Uint8Array(0))).toBe('ef46db3751d8e999');
      expect(d.hex(new TextEncoder().encode('abc'))).toBe('44bc2cf5ad770999');
    }
  });
});
