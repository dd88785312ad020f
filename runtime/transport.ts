/**
 * Transport: the one path messages take between the runtime and the actor hosts
 * (docs/architecture.md). The runtime only sees `Transport` and `HostEndpoint`; the comlink RPC boundary
 * lives here and in `worker.ts`, with typed-array buffers moved, not copied.
 * A later transport (hosts on other machines over NATS) implements the same two interfaces.
 *
 * Implementations: `InlineTransport` (hosts in this thread, called directly through a
 * structured clone: the `workers: 0` executor), `ChannelTransport` (hosts in this thread behind
 * comlink over a MessageChannel: the RPC tested in one thread) and
 * `PiscinaTransport` (hosts in worker threads, `piscinaTransport.ts`).
 */
import * as Comlink from 'comlink';
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ActorHost } from './host';
import type { EventRecord } from './eventLog';
import type {
  ActorLoad,
  ActorSnapshot,
  FollowingSnapshots,
  HostApi,
  HostInit,
  LoadResult,
  SettleBatch,
  SettleResult,
  StepBatch,
  StepResult,
} from './protocol';

/** A host (worker) died: its task ended, its thread exited, or its port closed. */
export class WorkerDiedError extends Error {
  override readonly name = 'WorkerDiedError';
  constructor(
    readonly worker: number,
    options?: { cause?: unknown },
  ) {
    super(`worker ${worker} died${options?.cause instanceof Error ? `: ${options.cause.message}` : ''}`, options);
  }
}

/** A connection to one host. Once the host dies, every call rejects with WorkerDiedError. */
export interface HostEndpoint extends HostApi {
  readonly index: number;
  readonly alive: boolean;
  /** Test hook: the next step makes the host die after computing, before answering. */
  readonly canCrash: boolean;
  /** Drops the connection without asking the host (after it died). */
  dispose(): void;
  /**
   * The snapshots of settled passes that came after their answers (`SettleResult.snapshotsFollow`),
   * oldest first, as many as have arrived (none waits); also after the host died, for those it sent.
   */
  receiveSnapshots?(): FollowingSnapshots[];
}

/** Starts hosts and connects to them. */
export interface Transport {
  /** For stats and logs of the simulator's own cost; never written into the event log. */
  readonly name: string;
  /** Whether a host can die, so that the runtime keeps snapshots every slot to restore it. */
  readonly canFail: boolean;
  /** Whether the hosts run in threads of this process, sharing its memory (`HostInit.deferSummaries`). */
  readonly sharesMemory?: boolean;
  /** Starts host `index` (again, after it died) and connects to it. Does not call `init`. */
  open(index: number): Promise<HostEndpoint>;
  /** Stops every host and releases every handle. */
  close(): Promise<void>;
}

/** The object exposed by comlink on a host's port. */
interface RemoteHost {
  init(init: HostInit): Promise<void>;
  load(actors: readonly ActorLoad[]): LoadResult;
  step(batch: StepBatch): StepResult;
  settle(batch: SettleBatch): SettleResult;
  collect(): Array<[string, ActorSnapshot]>;
  commit(): void;
  rollback(): void;
  snapshot(ids?: readonly string[]): Array<[string, ActorSnapshot]>;
  restore(snapshots: ReadonlyArray<readonly [string, ActorSnapshot]>): void;
  close(): void;
}

/** The key of a settling pass's progress messages on a host's port. */
const PROGRESS = 'airlora:settle-progress';

/**
 * Exposes `host` on `port` with comlink; `exit` makes the host die (the crash test hook), `onClose` ends it.
 * With `snapshotPort`, the snapshots of a settled pass go there after its answer (`SettleResult.snapshotsFollow`).
 */
export function exposeHost(host: ActorHost, port: MessagePort, exit: () => void, onClose: () => void, snapshotPort?: MessagePort): void {
  let snapshotTag = 0;
  const api: RemoteHost = {
    init: (i) => host.init(i),
    load: (a) => host.load(a),
    step: (b) => {
      const { result, transfer } = host.step(b);
      if (b.crash) {
        exit();
        return new Promise<never>(() => {}) as never;
      }
      return Comlink.transfer(result, transfer);
    },
    // A pass's records go out on the same port as they are routed (before the answer: ports keep
    // order); comlink ignores messages without an id.
    settle: (b) => {
      const { result, transfer, crashed } = host.settle(b, (records) => port.postMessage({ [PROGRESS]: records }));
      if (crashed) {
        exit();
        return new Promise<never>(() => {}) as never;
      }
      const { snapshots, ...answer } = result;
      if (!snapshots || !snapshotPort) return Comlink.transfer(result, transfer);
      // Copied out after the answer (comlink posts it in this task's microtasks; this runs in the
      // same turn, before the host reads its next message): the runtime's thread goes on meanwhile.
      const tag = ++snapshotTag;
      setImmediate(() => snapshotPort.postMessage({ tag, snapshots } satisfies FollowingSnapshots));
      return Comlink.transfer({ ...answer, snapshotsFollow: tag }, transfer);
    },
    collect: () => host.collect(),
    commit: () => host.commit(),
    rollback: () => host.rollback(),
    snapshot: (ids) => host.snapshot(ids),
    restore: (s) => host.restore(s),
    close: () => {
      setImmediate(onClose);
    },
  };
  Comlink.expose(api, port as unknown as Comlink.Endpoint);
}

/** Swallows the rejection of a promise kept to race with or to await later (where its rejection is handled). */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * The runtime side of a comlink connection to a host; `died` rejects when the host dies. With
 * `snapshotPort`, the host's other end of `exposeHost`'s: read with `receiveSnapshots`.
 */
export function comlinkEndpoint(
  index: number,
  port: MessagePort,
  died: Promise<never>,
  canCrash: boolean,
  snapshotPort?: MessagePort,
): HostEndpoint {
  const remote = Comlink.wrap<RemoteHost>(port as unknown as Comlink.Endpoint);
  let alive = true;
  let disposed = false;
  quiet(died).catch(() => {
    alive = false;
  });
  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (!alive) return Promise.reject(new WorkerDiedError(index));
    return Promise.race([call(), died]);
  };
  // The records of the pass being settled, as the host routes them (exposeHost's `settle`).
  let progress: ((records: readonly EventRecord[]) => void) | undefined;
  let progressError: { error: unknown } | undefined;
  port.on('message', (data: unknown) => {
    const records = (data as Record<string, unknown> | null)?.[PROGRESS];
    if (!records || !progress) return;
    try {
      progress(records as EventRecord[]);
    } catch (error) {
      progressError ??= { error }; // the settle call rejects with it (a throw here would end the process)
    }
  });
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    alive = false;
    port.close();
    snapshotPort?.close();
  };
  return {
    index,
    canCrash,
    get alive() {
      return alive;
    },
    init: (i) => guard(() => remote.init(i)),
    load: (a) => guard(() => remote.load(a) as Promise<LoadResult>),
    step: (b, transfer) => guard(() => remote.step(Comlink.transfer(b, [...transfer])) as Promise<StepResult>),
    settle: (b, transfer, onProgress) => {
      progress = onProgress;
      progressError = undefined;
      return guard(() => remote.settle(Comlink.transfer(b, [...transfer])) as Promise<SettleResult>)
        .then((r) => {
          if (progressError) throw progressError.error;
          return r;
        })
        .finally(() => {
          if (progress === onProgress) progress = undefined;
        });
    },
    collect: () => guard(() => remote.collect() as Promise<Array<[string, ActorSnapshot]>>),
    commit: () => guard(() => remote.commit() as Promise<void>),
    rollback: () => guard(() => remote.rollback() as Promise<void>),
    snapshot: (ids) => guard(() => remote.snapshot(ids) as Promise<Array<[string, ActorSnapshot]>>),
    restore: (s) => guard(() => remote.restore(s) as Promise<void>),
    close: async () => {
      if (alive) await Promise.race([remote.close(), died]).catch(() => undefined);
      remote[Comlink.releaseProxy]();
      dispose();
    },
    dispose,
    ...(snapshotPort
      ? {
          receiveSnapshots: () => {
            const received: FollowingSnapshots[] = [];
            if (disposed) return received;
            for (let m = receiveMessageOnPort(snapshotPort); m; m = receiveMessageOnPort(snapshotPort))
              received.push(m.message as FollowingSnapshots);
            return received;
          },
        }
      : {}),
  };
}

/**
 * Hosts in this thread, behind comlink over a MessageChannel: the same RPC as the worker
 * threads, without threads. A crash injected in a step closes the host's port.
 */
export class ChannelTransport implements Transport {
  readonly name = 'channel';
  readonly canFail = true;
  private readonly ports = new Set<MessagePort>();

  async open(index: number): Promise<HostEndpoint> {
    const { port1, port2 } = new MessageChannel();
    const snapshots = new MessageChannel();
    this.ports.add(port1).add(port2).add(snapshots.port1).add(snapshots.port2);
    let die: (e: Error) => void = () => undefined;
    const died = quiet(new Promise<never>((_, reject) => (die = reject)));
    exposeHost(
      new ActorHost(),
      port2,
      () => {
        die(new WorkerDiedError(index, { cause: new Error('crash injected') }));
        port2.close();
      },
      () => {
        die(new WorkerDiedError(index, { cause: new Error('host closed') }));
        port2.close();
      },
      snapshots.port2,
    );
    return comlinkEndpoint(index, port1, died, true, snapshots.port1);
  }

  async close(): Promise<void> {
    for (const p of this.ports) p.close();
    this.ports.clear();
  }
}

/** A step's effects with their bodies moved through a structured clone (with `transfer`), as between threads. */
function moveBodies(result: StepResult, transfer: ArrayBuffer[]): StepResult {
  if (transfer.length === 0 && result.effects.every((e) => e.body === undefined || typeof e.body !== 'object')) return result;
  const bodies = structuredClone(
    result.effects.map((e) => e.body),
    { transfer },
  );
  return withBodies(result, bodies);
}

/** `result` with its effects' bodies replaced by `bodies` (their moved copies, in order). */
function withBodies(result: StepResult, bodies: readonly unknown[]): StepResult {
  return { ...result, effects: result.effects.map((e, i) => (e.body === undefined ? e : { ...e, body: bodies[i] })) };
}

/**
 * Hosts in this thread called directly (the `workers: 0` executor). Arguments and results go
 * through a structured clone with transfer, so semantics match the worker threads exactly.
 */
export class InlineTransport implements Transport {
  readonly name = 'inline';
  readonly canFail = false;

  async open(index: number): Promise<HostEndpoint> {
    const host = new ActorHost();
    const clone = <T>(v: T): T => structuredClone(v);
    return {
      index,
      alive: true,
      canCrash: false,
      init: async (i) => host.init(clone(i)),
      load: async (a) => clone(host.load(clone(a))),
      // Bodies reaching this host come from the driver (cloned by send) or from its own actors (held in
      // its outbox); bodies leaving it go to the driver: those are moved through a clone, as by a worker.
      step: async (b) => {
        const { result, transfer } = host.step(b);
        return moveBodies(result, transfer);
      },
      settle: async (b, _transfer, progress) => {
        const { result, transfer } = host.settle(b, progress);
        const open = result.open;
        const moved = structuredClone({ mail: result.mail, bodies: open?.effects.map((e) => e.body) }, { transfer });
        return {
          ...result,
          mail: moved.mail,
          ...(open ? { open: withBodies(open, moved.bodies ?? []) } : {}),
          ...(result.snapshots ? { snapshots: clone(result.snapshots) } : {}),
        };
      },
      collect: async () => clone(host.collect()),
      commit: async () => host.commit(),
      rollback: async () => host.rollback(),
      snapshot: async (ids) => clone(host.snapshot(ids)),
      restore: async (s) => host.restore(clone(s)),
      close: async () => undefined,
      dispose: () => undefined,
    };
  }

  async close(): Promise<void> {}
}
