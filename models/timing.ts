/**
 * Opt-in wall-clock counter of model compute (bench/scale.ts, the benchmark's "share of time outside
 * model compute"). Off unless the process that starts the workers calls `enableModelTiming()`
 * first: the counter is a SharedArrayBuffer handed to every worker thread started afterwards
 * through `worker_threads` environment data, so all threads add into the same totals and the
 * benchmark reads them without going through the runtime. When off, a timed call costs one
 * boolean test. Measures the simulator's own cost only: nothing in the simulation reads it.
 */
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';

const KEY = 'airlora:model-timing';

/** [nanoseconds, calls] */
let counter: BigInt64Array | null = null;
{
  const sab = getEnvironmentData(KEY);
  if (sab instanceof SharedArrayBuffer) counter = new BigInt64Array(sab);
}

/** Turns the counter on in this thread and in every worker thread started after the call. */
export function enableModelTiming(): void {
  if (counter) return;
  const sab = new SharedArrayBuffer(16);
  setEnvironmentData(KEY, sab);
  counter = new BigInt64Array(sab);
}

/** Model compute summed over every thread since `enableModelTiming` (or the last reset). */
export function modelTiming(): { seconds: number; calls: number } {
  if (!counter) return { seconds: 0, calls: 0 };
  return { seconds: Number(Atomics.load(counter, 0)) / 1e9, calls: Number(Atomics.load(counter, 1)) };
}

export function resetModelTiming(): void {
  if (!counter) return;
  Atomics.store(counter, 0, 0n);
  Atomics.store(counter, 1, 0n);
}

/** Runs `fn`, adding its wall-clock time to the counter when timing is on. */
export function timeModel<T>(fn: () => T): T {
  const c = counter;
  if (!c) return fn();
  const t0 = process.hrtime.bigint();
  try {
    return fn();
  } finally {
    Atomics.add(c, 0, process.hrtime.bigint() - t0);
    Atomics.add(c, 1, 1n);
  }
}
