/**
 * Picks the TensorFlow.js backend at start-up (STACK.md): tfjs-node when it loads (an
 * optionalDependency that cannot install on every machine), else WebAssembly (SIMD build,
 * picked automatically in Node), else the pure-JS cpu backend. Sets PROD, which silences the
 * cpu backend's banner and some debug checks. Call once per worker thread, before any op.
 */
import * as tf from '@tensorflow/tfjs';
import { useLinearWasmSlice } from './wasmSlice';

export type BackendName = 'node' | 'wasm' | 'cpu';

/** Thrown when a requested backend cannot be initialised at all. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
}

let wasmRegistered = false;

function tryLoadNode(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

function registerWasm(): boolean {
  if (wasmRegistered) return true;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
    wasmRegistered = true;
    return true;
  } catch {
    return false;
  }
}

/**
 * Initialises the fastest available backend, or `preferred` when given (falling back down the
 * order node → wasm → cpu if it is not available). Returns the name tfjs reports
 * ('tensorflow' for tfjs-node, 'wasm', 'cpu'); write it into the run header.
 */
export async function initBackend(preferred?: BackendName): Promise<string> {
  tf.env().set('PROD', true);
  const order: BackendName[] = preferred === 'cpu' ? ['cpu'] : preferred === 'wasm' ? ['wasm', 'cpu'] : ['node', 'wasm', 'cpu'];
  for (const name of order) {
    if (name === 'node') {
      if (tryLoadNode() && (await trySet('tensorflow'))) return tf.getBackend();
    } else if (name === 'wasm') {
      if (registerWasm() && (await trySet('wasm'))) {
        useLinearWasmSlice();
        return tf.getBackend();
      }
    } else if (await trySet('cpu')) {
      return tf.getBackend();
    }
  }
  throw new BackendError(`no TensorFlow.js backend could be initialised (tried ${order.join(', ')})`);
}

async function trySet(name: string): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** The backends that can be initialised here, for benchmarks. */
export function availableBackends(): BackendName[] {
  const out: BackendName[] = [];
  if (tryLoadNode()) out.push('node');
  if (registerWasm()) out.push('wasm');
  out.push('cpu');
  return out;
}
