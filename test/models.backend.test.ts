/** Backend choice at start-up: tfjs-node if it loads, else wasm, else cpu. */
import * as tf from '@tensorflow/tfjs';
import { availableBackends, initBackend } from '../models';

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
