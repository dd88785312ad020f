/** A machine where onnxruntime-node's native library does not load: runs fall back to wasm and say so once. */
import { availableBackends, resolveBackend } from '../models/backend';
import { OnnxRuntimeUnavailable } from '../models/onnx/session';
import { OrtCompute } from '../models/onnx/ortCompute';
import { createRandomFoundation, DEFAULT_MODEL_CONFIG, initBackend } from '../models';
import { RandomStream } from '../util/random';

jest.mock('onnxruntime-node/dist/binding', () => {
  throw new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory');
});

describe('without onnxruntime-node', () => {
  it('resolves auto and onnxruntime to wasm, says why once, and refuses to build the graphs', async () => {
    const said: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      said.push(String(chunk));
      return true;
    });
    try {
      expect(availableBackends()).not.toContain('onnxruntime');
      expect(resolveBackend('auto')).toBe('wasm');
      expect(resolveBackend('onnxruntime')).toBe('wasm');
    } finally {
      spy.mockRestore();
    }
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(
      /^airlora: onnxruntime-node does not load here \(libonnxruntime\.so\.1: cannot open shared object file.*\); running on wasm\n$/,
    );
    await initBackend('wasm');
    const f = createRandomFoundation(DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(1, 'foundation'));
    expect(() => new OrtCompute(f)).toThrow(OnnxRuntimeUnavailable);
    f.dispose();
  });
});
