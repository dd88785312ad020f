/** Backend choice at start-up: tfjs-node if it loads, else wasm, else cpu; a run's runtime.backend (auto: onnxruntime, else wasm, else cpu). */
import * as tf from '@tensorflow/tfjs';
import { availableBackends, initBackend, resolveBackend } from '../models';

describe('initBackend', () => {
  it('falls back from tfjs-node (not installable here) to wasm, and sets PROD', async () => {
    const name = await initBackend();
    expect(['tensorflow', 'wasm']).toContain(name);
    if (!availableBackends().includes('node')) expect(name).toBe('wasm');
    expect(tf.env().getBool('PROD')).toBe(true);
  });

  it('honours a preferred backend', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(await initBackend('wasm')).toBe('wasm');
  });
});

describe('resolveBackend (runtime.backend)', () => {
  it('picks onnxruntime for auto where it loads, with the device side on tfjs wasm', async () => {
    // onnxruntime-node installs from the registry with its CPU binaries (.npmrc skips the GPU download).
    expect(availableBackends()).toContain('onnxruntime');
    expect(resolveBackend('auto')).toBe('onnxruntime');
    expect(resolveBackend('wasm')).toBe('wasm');
    expect(await initBackend('onnxruntime')).toBe('onnxruntime');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('falls back from a backend that does not load, and says so once', () => {
    if (availableBackends().includes('node')) return; // tfjs-node installed: nothing to fall back from
    const said: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      said.push(String(chunk));
      return true;
    });
    try {
      expect(resolveBackend('node')).toBe('onnxruntime');
      expect(resolveBackend('node')).toBe('onnxruntime');
    } finally {
      spy.mockRestore();
    }
    expect(said).toEqual(['airlora: the node backend does not load here; running on onnxruntime\n']);
  });
});
