/**
 * Hosts on a piscina pool, one long-lived "host" task per worker (docs/stack.md, "Two ways to
 * host many actors"): the task receives a transferred MessagePort, exposes the host on it with
 * comlink, and resolves only at shutdown, so each of the N tasks holds one of the N workers
 * (minThreads = maxThreads = N, concurrentTasksPerWorker 1): that is the pinning, with no
 * load balancer needed. `atomics: 'disabled'` keeps an idle worker answering its port. The
 * task's rejection ("worker exited") tells that the worker died; piscina starts a replacement
 * thread, on which `open(index)` starts the host again.
 *
 * Process-wide effect: the first pool sets V8's initial old-generation size for every isolate the
 * process creates afterwards (see `sizeWorkerHeaps`); the running main thread keeps its own.
 */
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { comlinkEndpoint, WorkerDiedError, type HostEndpoint, type Transport } from './transport';

/** The worker entry and how to start it: `dist/runtime/worker.js`, or the `.ts` source through tsx when running from sources (jest, tsx). */
export function workerEntry(): { filename: string; execArgv: string[] } {
  const fromSource = __filename.endsWith('.ts');
  return fromSource
    ? { filename: path.join(__dirname, 'worker.ts'), execArgv: ['--import', 'tsx'] }
    : { filename: path.join(__dirname, 'worker.js'), execArgv: [] };
}

/**
 * The old generation a worker's heap starts with, in MiB. A host's live heap is small (about
 * 30 MiB) but it allocates fast (tfjs objects, message buffers), and V8 sizes the old generation
 * from the live size: left alone, a worker ran four to five major collections per round of
 * cell-50 (about 25 ms of every second). Starting at 128 MiB leaves one every few rounds; the
 * cost is about 50 MiB of resident memory per worker (docs/stack.md).
 * `AIRLORA_WORKER_OLD_SPACE_MIB` overrides it (0: V8's own sizing).
 */
export const WORKER_INITIAL_OLD_SPACE_MIB = 128;

/** V8 heap-size options: process-wide, and refused in a worker's execArgv (ERR_WORKER_INVALID_EXEC_ARGV). */
const V8_HEAP_OPTION = /^--(max|min|initial)[-_](old|semi|young|heap)[-_]/;

/**
 * Worker threads take no V8 options in their execArgv, so the size is set as a V8 flag of the
 * process, which applies to isolates created afterwards (the workers), not to the running main
 * thread. A heap size the user gave on node's command line already applies to every isolate and
 * is left alone. Idempotent.
 */
export function sizeWorkerHeaps(): void {
  if (process.execArgv.some((a) => /^--initial[-_]old[-_]space[-_]size/.test(a))) return;
  const raw = process.env['AIRLORA_WORKER_OLD_SPACE_MIB'];
  const mib = raw === undefined || raw === '' ? WORKER_INITIAL_OLD_SPACE_MIB : Number(raw);
  if (!Number.isInteger(mib) || mib < 0)
    throw new RangeError(`AIRLORA_WORKER_OLD_SPACE_MIB must be a whole number of MiB >= 0, got ${JSON.stringify(raw)}`);
  if (mib > 0) setFlagsFromString(`--initial-old-space-size=${mib}`);
}

export class PiscinaTransport implements Transport {
  readonly name = 'piscina';
  readonly canFail = true;
  readonly sharesMemory = true;
  private readonly pool: Piscina;
  private readonly tasks = new Set<Promise<unknown>>();

  constructor(readonly workers: number) {
    const { filename, execArgv } = workerEntry();
    sizeWorkerHeaps();
    this.pool = new Piscina({
      filename,
      name: 'host',
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: 1,
      atomics: 'disabled',
      idleTimeout: 2 ** 31 - 1,
      execArgv: [...process.execArgv.filter((a) => !a.startsWith('--inspect') && !V8_HEAP_OPTION.test(a)), ...execArgv],
    });
  }

  async open(index: number): Promise<HostEndpoint> {
    const { port1, port2 } = new MessageChannel();
    const snapshots = new MessageChannel();
    const task = this.pool.run({ port: port2, snapshotPort: snapshots.port2, index }, { transferList: [port2, snapshots.port2] as never });
    this.tasks.add(task);
    const died = task.then(
      () => {
        throw new WorkerDiedError(index, { cause: new Error('host task ended') });
      },
      (cause: unknown) => {
        throw new WorkerDiedError(index, { cause });
      },
    );
    died.catch(() => undefined);
    return comlinkEndpoint(index, port1, died, true, snapshots.port1);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
    await Promise.allSettled([...this.tasks]);
    this.tasks.clear();
  }
}
