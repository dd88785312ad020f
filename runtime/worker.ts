/**
 * The worker entry: one named function, `host`, run as a long-lived piscina task
 * that serves an ActorHost over comlink on the port it is given, until `close`.
 */
import type { MessagePort } from 'node:worker_threads';
import { ActorHost } from './host';
import { exposeHost } from './transport';

/** Serves the actors of this worker on `port` (the snapshots of settled passes on `snapshotPort`); resolves when the runtime closes it. */
export function host(task: { port: MessagePort; snapshotPort?: MessagePort; index: number }): Promise<string> {
  return new Promise((resolve) => {
    exposeHost(
      new ActorHost(),
      task.port,
      () => process.exit(1),
      () => {
        task.port.close();
        task.snapshotPort?.close();
        resolve(`host ${task.index} closed`);
      },
      task.snapshotPort,
    );
  });
}
