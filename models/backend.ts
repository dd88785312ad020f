/**
 * Picks the compute backend at start-up. `onnxruntime`: the server's encoder passes and
 * the evaluator on onnxruntime-node (models/onnx/), the device side on TensorFlow.js's WebAssembly
 * backend. The TensorFlow.js backends: tfjs-node (an optionalDependency that cannot install on
 * every machine; used only when asked for), WebAssembly (SIMD build, picked automatically in
 * Node), the pure-JS cpu backend. A run's `runtime.backend` is `auto` (onnxruntime if it loads,
 * else wasm, else cpu) or a name. Sets PROD, which silences the cpu backend's banner and some
 * debug checks. Call initBackend once per worker thread, before any op.
 */
import * as tf from '@tensorflow/tfjs';
import { onnxRuntimeProblem } from './onnx/session';
import { useLinearWasmSlice } from './wasmSlice';

export type BackendName = 'onnxruntime' | 'node' | 'wasm' | 'cpu';
/** What a scenario may ask for: a backend, or `auto`. */
export type BackendChoice = BackendName | 'auto';
export const BACKEND_NAMES: readonly BackendName[] = ['onnxruntime', 'node', 'wasm', 'cpu'];

/** Thrown when a requested backend cannot be initialised at all. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
}

let wasmRegistered = false;

function tryLoadNode(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional package, absent where its install failed: loaded only when asked for
    require('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

function registerWasm(): boolean {
  if (wasmRegistered) return true;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- registers the wasm backend as a side effect, loaded only when that backend is chosen
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
  if (preferred === 'onnxruntime') {
    const problem = onnxRuntimeProblem();
    if (problem) throw new BackendError(`onnxruntime-node does not load: ${problem}`);
    // The device side (embedding, task module) runs on wasm.
    if (registerWasm() && (await trySet('wasm'))) {
      useLinearWasmSlice();
      return 'onnxruntime';
    }
    throw new BackendError('the onnxruntime backend runs the device side on tfjs wasm, which could not be initialised');
  }
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

/** The backends that can be initialised here (onnxruntime first when it loads). */
export function availableBackends(): BackendName[] {
  const out: BackendName[] = [];
  if (onnxRuntimeProblem() === null && registerWasm()) out.push('onnxruntime');
  if (tryLoadNode()) out.push('node');
  if (registerWasm()) out.push('wasm');
  out.push('cpu');
  return out;
}

let fallbackTold = false;

/**
 * The backend a run will use for `choice`: `auto` is onnxruntime if it loads here, else wasm,
 * else cpu; a name is that backend if it loads, else the same order. A fall-back says why, once
 * per process (on stderr).
 */
export function resolveBackend(choice: BackendChoice = 'auto'): BackendName {
  const here = availableBackends();
  if (choice !== 'auto' && here.includes(choice)) return choice;
  const picked = (['onnxruntime', 'wasm', 'cpu'] as const).find((b) => here.includes(b)) ?? 'cpu';
  const wanted = choice === 'auto' ? 'onnxruntime' : choice;
  if (picked !== wanted && !fallbackTold) {
    fallbackTold = true;
    const why =
      wanted === 'onnxruntime'
        ? `onnxruntime-node does not load here (${onnxRuntimeProblem() ?? 'tfjs wasm did not load'})`
        : `the ${wanted} backend does not load here`;
    process.stderr.write(`airlora: ${why}; running on ${picked}\n`);
  }
  return picked;
}
