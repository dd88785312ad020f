/**
 * The hosts of one run on `airlora worker` processes (README "Running on several machines"):
 * `airlora run SCENARIO --nats URL --hosts N`. Connects to the server and hands the runtime a
 * NatsTransport that closes the connection with it.
 */
import { hostname } from 'node:os';
import { packageVersion } from '../../runtime/eventLog';
import { NatsTransport } from '../../runtime/natsTransport';
import type { Transport } from '../../runtime/transport';
import { connectNats } from './connection';

/** Where a run's hosts go: the NATS server and how many. */
export interface RunHosts {
  readonly url: string;
  readonly count: number;
}

/** Seconds a host call may go without a sign from its worker, when the scenario does not say (`runtime.hostTimeoutS`). */
export const DEFAULT_HOST_TIMEOUT_S = 60;

/** A transport placing the run's hosts on the workers of `hosts.url`; `log` gets placement and lost-host lines. */
export async function natsHostTransport(hosts: RunHosts, timeoutS: number | undefined, log?: (line: string) => void): Promise<Transport> {
  const nc = await connectNats(hosts.url, `airlora run ${hostname()}:${process.pid}`);
  return new NatsTransport(nc, {
    hosts: hosts.count,
    callTimeoutMs: (timeoutS ?? DEFAULT_HOST_TIMEOUT_S) * 1000,
    version: packageVersion(),
    ...(log ? { log } : {}),
    onClose: async () => {
      if (!nc.isClosed()) await nc.close();
    },
  });
}
