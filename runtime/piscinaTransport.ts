/**
 * Hosts on a piscina pool, one long-lived "host" task per worker (STACK.md, "Two ways to host
 * many actors"): the task receives a transferred MessagePort, exposes the host on it with
 * comlink, and resolves only at shutdown, so each of the N tasks holds one of the N workers
 * (minThreads = maxThreads = N, concurrentTasksPerWorker 1): that is the pinning, with no
 * load balancer needed. `atomics: 'disabled'` keeps an idle worker answering its port. The
 * task's rejection ("worker exited") tells that the worker died; piscina starts a replacement
 * thread, on which `open(index)` starts the host again.
 */
import * as path from 'node:path';
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

export class PiscinaTransport implements Transport {
  readonly name = 'piscina';
  readonly canFail = true;
  private readonly pool: Piscina;
  private readonly tasks = new Set<Promise<unknown>>();

  constructor(readonly workers: number) {
    const { filename, execArgv } = workerEntry();
    this.pool = new Piscina({
      filename,
      name: 'host',
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: 1,
      atomics: 'disabled',
      idleTimeout: 2 ** 31 - 1,
      execArgv: [...process.execArgv.filter((a) => !a.startsWith('--inspect')), ...execArgv],
    });
  }

  async open(index: number): Promise<HostEndpoint> {
    const { port1, port2 } = new MessageChannel();
    const task = this.pool.run({ port: port2, index }, { transferList: [port2] as never });
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
    return comlinkEndpoint(index, port1, died, true);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
    await Promise.allSettled([...this.tasks]);
    this.tasks.clear();
  }
}
