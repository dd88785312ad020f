/**
 * Connecting to NATS and making sure the JetStream pieces exist (README "Clusters"). Errors name
 * the problem: no server at the URL, a server without JetStream. Short pings, so that a dead peer
 * is noticed in seconds rather than NATS's default two minutes.
 */
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { RESULTS_STREAM, RUNS_STREAM, WORKERS_CONSUMER } from './names';

/** A NATS server that cannot be used: exit status 2 (bad input), naming the URL. */
export class NatsSetupError extends Error {
  override readonly name = 'NatsSetupError';
  readonly exitCode = 2;
}

/** Delivery settings of the workers' consumer: how long a run may go without a "still working" signal, how many deliveries before it is given up. */
export interface DeliverySettings {
  ackWaitS: number;
  maxDeliver: number;
}

export const DEFAULT_DELIVERY: DeliverySettings = { ackWaitS: 30, maxDeliver: 3 };

/** How often the client pings the server, and how many unanswered pings make the connection dead. */
const PING_INTERVAL_MS = 5_000;
const MAX_PINGS_OUT = 3;

export interface Cluster {
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/** Connects to `url` (core NATS only); `name` shows in the server's connection list. */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, name, pingInterval: PING_INTERVAL_MS, maxPingOut: MAX_PINGS_OUT, maxReconnectAttempts: -1 });
  } catch (cause) {
    throw new NatsSetupError(
      `no NATS server at ${url} (${(cause as Error).message}): start one (nats-server -js) or give its URL with --nats`,
      { cause },
    );
  }
}

/** Connects to `url` and checks that JetStream is on; `name` shows in the server's connection list. */
export async function connectCluster(url: string, name: string): Promise<Cluster> {
  const nc = await connectNats(url, name);
  try {
    return { nc, jsm: await jetstreamManager(nc, { timeout: 10_000 }) };
  } catch (cause) {
    await nc.close();
    throw new NatsSetupError(
      `the NATS server at ${url} has no JetStream (${(cause as Error).message}): start it with -js, or a jetstream block in its configuration`,
      { cause },
    );
  }
}

async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[], retention: RetentionPolicy): Promise<void> {
  try {
    await jsm.streams.info(name);
  } catch {
    await jsm.streams.add({ name, subjects, retention, storage: StorageType.File });
  }
}

/**
 * Creates what is missing: the runs work-queue stream, the results stream and the workers'
 * durable pull consumer (explicit acks). With `delivery`, the consumer's ack wait and deliveries
 * are set to it (the study's choice); without, an existing consumer is left as it is.
 */
export async function ensureQueues(jsm: JetStreamManager, delivery?: DeliverySettings): Promise<DeliverySettings> {
  await ensureStream(jsm, RUNS_STREAM, ['airlora.runs.*'], RetentionPolicy.Workqueue);
  await ensureStream(jsm, RESULTS_STREAM, ['airlora.results.*'], RetentionPolicy.Limits);
  const wanted = delivery ?? DEFAULT_DELIVERY;
  const settings: Partial<ConsumerConfig> = { ack_wait: nanos(wanted.ackWaitS * 1000), max_deliver: wanted.maxDeliver };
  let info;
  try {
    info = await jsm.consumers.info(RUNS_STREAM, WORKERS_CONSUMER);
  } catch {
    info = await jsm.consumers.add(RUNS_STREAM, {
      durable_name: WORKERS_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...settings,
    });
  }
  if (delivery && (info.config.ack_wait !== settings.ack_wait || info.config.max_deliver !== settings.max_deliver))
    info = await jsm.consumers.update(RUNS_STREAM, WORKERS_CONSUMER, settings);
  return { ackWaitS: (info.config.ack_wait ?? settings.ack_wait!) / 1e9, maxDeliver: info.config.max_deliver ?? wanted.maxDeliver };
}
