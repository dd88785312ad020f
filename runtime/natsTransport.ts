/**
 * Hosts on other processes (or machines) through a NATS server (README "Running on
 * several machines"). The runtime stays the superstep coordinator; each host is a session on an
 * `airlora worker` process (its host service, `natsHosts.ts`), and each host call is one request:
 * the arguments in frames under the server's max_payload, the answer back in frames to this
 * endpoint's inbox. While a call runs the worker sends "working" frames; a call that sees no frame
 * for `callTimeoutMs` (the scenario's `runtime.hostTimeoutS`) means the host died (killed) or
 * stopped answering (stopped, cut off): the endpoint rejects with WorkerDiedError, and the runtime
 * restores the host's actors from the slot's start on another worker and runs the slot again.
 *
 * Workers are found by asking on DISCOVER_SUBJECT; the first `hosts` sessions go to distinct
 * workers, a re-opened host to the live worker with the fewest of this run's sessions. A worker
 * of another airlora version is refused, both versions named.
 */
import * as path from 'node:path';
import { createInbox, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { deserialize, FrameAssembler, publishFrames, readFrame, serialize, type FrameHeader } from './natsFrames';
import type { ActorLoad, ActorSnapshot, HostInit, LoadResult, StepBatch, StepResult } from './protocol';
import { WorkerDiedError, type HostEndpoint, type Transport } from './transport';

/** Where host services answer "who is there". */
export const DISCOVER_SUBJECT = 'airlora.hosts.discover';

/** A worker's answer to discovery. */
export interface HostServiceInfo {
  /** `host:pid` of the worker. */
  readonly worker: string;
  readonly airlora: string;
  /** Where its sessions' calls go. */
  readonly subject: string;
  /** Sessions it serves now (all runs). */
  readonly sessions: number;
}

/** What a session is opened with. */
export interface OpenSession {
  readonly airlora: string;
  readonly index: number;
  /** The coordinator's code folder: actor and resource modules under it are found under the worker's own. */
  readonly root: string;
  /** How often the worker says "working" during a call. */
  readonly keepaliveMs: number;
}

/** An error from a worker's host (a bad actor module, a transition bug), named as thrown there. */
export class RemoteHostError extends Error {
  constructor(
    readonly remoteName: string,
    message: string,
    readonly worker: string,
  ) {
    super(`${message} [on worker ${worker}]`);
    this.name = remoteName;
  }
}

/** Not enough workers to place the hosts on (or only workers of another version): exit status 2. */
export class HostsUnavailableError extends Error {
  override readonly name = 'HostsUnavailableError';
  readonly exitCode = 2;
}

/** The folder actor and resource modules are resolved under: this file's code root (the sources, or dist/). */
export const codeRoot = (): string => path.resolve(__dirname, '..');

export interface NatsTransportOptions {
  /** Hosts of the run: the first this many sessions go to distinct workers. */
  readonly hosts: number;
  /** A call with no frame from its worker for this long has lost its host. */
  readonly callTimeoutMs: number;
  /** This airlora's version; workers of another are refused. */
  readonly version: string;
  /** How long to wait for enough workers to answer (default 30 s). */
  readonly waitForWorkersMs?: number;
  /** Lines about placement and lost hosts (default: none). */
  readonly log?: (line: string) => void;
  /** Called by `close`, after the sessions: e.g. closing the connection the transport was given. */
  readonly onClose?: () => Promise<void>;
}

/** How long one discovery round collects answers. */
const DISCOVERY_WINDOW_MS = 300;

/** Asks every host service on `nc` who it is; answers collected for a short window, sorted by worker. */
export async function discoverHostServices(nc: NatsConnection, windowMs = DISCOVERY_WINDOW_MS): Promise<HostServiceInfo[]> {
  const inbox = createInbox();
  const found: HostServiceInfo[] = [];
  const sub = nc.subscribe(inbox, { callback: (_e, m) => void found.push(m.json<HostServiceInfo>()) });
  nc.publish(DISCOVER_SUBJECT, new Uint8Array(0), { reply: inbox });
  await new Promise((r) => setTimeout(r, windowMs));
  sub.unsubscribe();
  return found.sort((a, b) => (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class NatsTransport implements Transport {
  readonly name = 'nats';
  readonly canFail = true;
  /** Workers that lost a host of this run: never used again by it. */
  private readonly lost = new Set<string>();
  /** Sessions of this run per worker. */
  private readonly placed = new Map<string, number>();
  private readonly endpoints = new Set<HostEndpoint>();
  private opened = 0;
  private choosing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsTransportOptions,
  ) {
    if (!(options.callTimeoutMs > 0)) throw new RangeError(`NatsTransport: callTimeoutMs must be > 0, got ${options.callTimeoutMs}`);
  }

  /** The worker for the next session: one after the other, so that counts stay right. */
  private choose(): Promise<HostServiceInfo> {
    const next = this.choosing.then(() => this.pick());
    this.choosing = next.catch(() => undefined);
    return next;
  }

  private async pick(): Promise<HostServiceInfo> {
    const initial = this.opened < this.options.hosts;
    const needed = initial ? this.options.hosts - this.opened : 1;
    const deadline = Date.now() + (this.options.waitForWorkersMs ?? 30_000);
    for (;;) {
      const all = await discoverHostServices(this.nc);
      const others = all.filter((w) => w.airlora !== this.options.version);
      const usable = all.filter(
        (w) => w.airlora === this.options.version && !this.lost.has(w.worker) && !(initial && this.placed.has(w.worker)),
      );
      if (usable.length >= needed) {
        const chosen = usable.reduce((a, b) => ((this.placed.get(b.worker) ?? 0) < (this.placed.get(a.worker) ?? 0) ? b : a));
        this.placed.set(chosen.worker, (this.placed.get(chosen.worker) ?? 0) + 1);
        this.opened++;
        return chosen;
      }
      if (Date.now() >= deadline) {
        const refused = others.map(
          (w) =>
            `worker ${w.worker} is airlora ${w.airlora}; this run is airlora ${this.options.version}: run one version across the cluster`,
        );
        const live = all.length - others.length;
        throw new HostsUnavailableError(
          initial
            ? `--hosts ${this.options.hosts}: ${live} airlora worker${live === 1 ? '' : 's'} of this version answered within ${Math.round((this.options.waitForWorkersMs ?? 30_000) / 1000)} s; start ${this.options.hosts} with 'airlora worker --nats URL'${refused.length > 0 ? ` (refused: ${refused.join('; ')})` : ''}`
            : `no airlora worker left to take a lost host (lost: ${[...this.lost].join(', ')})${refused.length > 0 ? ` (refused: ${refused.join('; ')})` : ''}`,
        );
      }
    }
  }

  async open(index: number): Promise<HostEndpoint> {
    const worker = await this.choose();
    const ep = new SessionEndpoint(this.nc, index, worker, this.options.callTimeoutMs, (why) => {
      this.lost.add(worker.worker);
      this.options.log?.(`host ${index} on worker ${worker.worker} lost: ${why}`);
    });
    this.endpoints.add(ep);
    try {
      await ep.call('open', {
        airlora: this.options.version,
        index,
        root: codeRoot(),
        keepaliveMs: Math.max(50, Math.floor(this.options.callTimeoutMs / 4)),
      } satisfies OpenSession);
    } catch (err) {
      ep.dispose();
      throw err;
    }
    this.options.log?.(`host ${index} on worker ${worker.worker}`);
    return ep;
  }

  async close(): Promise<void> {
    for (const ep of this.endpoints) ep.dispose();
    this.endpoints.clear();
    await this.options.onClose?.();
  }
}

/** One host: a session on a worker, its calls numbered, its answers on an inbox of its own. */
class SessionEndpoint implements HostEndpoint {
  readonly canCrash = false;
  private isAlive = true;
  private nextCall = 0;
  private readonly session = createInbox('s');
  private readonly inbox = createInbox();
  private readonly pending = new Map<number, Pending>();
  private readonly frames = new FrameAssembler();
  private readonly sub: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    readonly index: number,
    private readonly worker: HostServiceInfo,
    private readonly timeoutMs: number,
    private readonly onLost: (why: string) => void,
  ) {
    this.sub = nc.subscribe(this.inbox, { callback: (_e, m) => this.onFrame(m.data) });
  }

  get alive(): boolean {
    return this.isAlive;
  }

  private onFrame(data: Uint8Array): void {
    const { header, slice } = readFrame(data);
    const p = this.pending.get(header.call);
    if (!p) return; // an answer to a call given up on
    p.timer.refresh();
    if (header.kind === 'working') return;
    const bytes = this.frames.add(header, slice);
    if (!bytes) return;
    this.pending.delete(header.call);
    clearTimeout(p.timer);
    const value = deserialize(bytes);
    if (header.kind === 'ok') return p.resolve(value);
    const e = value as { name: string; message: string; died: boolean };
    if (e.died) this.die(`its thread died: ${e.message}`);
    else p.reject(new RemoteHostError(e.name, e.message, this.worker.worker));
  }

  /** The host is gone: every call in flight, and every later one, rejects with WorkerDiedError. */
  private die(why: string): void {
    if (!this.isAlive) return;
    this.isAlive = false;
    this.onLost(why);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new WorkerDiedError(this.index, { cause: new Error(`host on worker ${this.worker.worker} ${why}`) }));
    }
    this.pending.clear();
  }

  /** One request: the arguments out in frames, the answer back; no frame for the timeout loses the host. */
  call(kind: string, args: unknown): Promise<unknown> {
    if (!this.isAlive)
      return Promise.reject(new WorkerDiedError(this.index, { cause: new Error(`host on worker ${this.worker.worker} was lost`) }));
    const call = this.nextCall++;
    return new Promise((resolve, reject) => {
      // Frames already received are handled before the timeout is believed (timers run before I/O in a loop turn).
      const timer = setTimeout(
        () =>
          setImmediate(
            () => this.pending.has(call) && this.die(`gave no sign for ${this.timeoutMs / 1000} s (killed, stopped or cut off)`),
          ),
        this.timeoutMs,
      );
      this.pending.set(call, { resolve, reject, timer });
      const header: Omit<FrameHeader, 'offset' | 'bytes'> = { call, session: this.session, kind, reply: this.inbox };
      try {
        publishFrames(this.nc, this.worker.subject, header, serialize(args));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(call);
        reject(err instanceof Error && /closed/i.test(err.message) ? new WorkerDiedError(this.index, { cause: err }) : (err as Error));
      }
    });
  }

  init = async (init: HostInit): Promise<void> => void (await this.call('init', init));
  load = async (actors: readonly ActorLoad[]): Promise<LoadResult> => (await this.call('load', actors)) as LoadResult;
  step = async (batch: StepBatch): Promise<StepResult> => (await this.call('step', batch)) as StepResult;
  collect = async (): Promise<Array<[string, ActorSnapshot]>> => (await this.call('collect', null)) as Array<[string, ActorSnapshot]>;
  commit = async (): Promise<void> => void (await this.call('commit', null));
  rollback = async (): Promise<void> => void (await this.call('rollback', null));
  snapshot = async (ids?: readonly string[]): Promise<Array<[string, ActorSnapshot]>> =>
    (await this.call('snapshot', ids ?? null)) as Array<[string, ActorSnapshot]>;
  restore = async (snapshots: ReadonlyArray<readonly [string, ActorSnapshot]>): Promise<void> =>
    void (await this.call('restore', snapshots));

  close = async (): Promise<void> => {
    if (this.isAlive) await this.call('close', null).catch(() => undefined);
    this.isAlive = false; // closed: no second close frame
    this.dispose();
  };

  /** Drops the session without waiting: a worker still there ends it (a best-effort close). */
  dispose(): void {
    if (this.isAlive && !this.nc.isClosed()) {
      try {
        publishFrames(this.nc, this.worker.subject, { call: this.nextCall++, session: this.session, kind: 'close' }, serialize(null));
      } catch {
        // the connection is going: the worker's idle sessions expire
      }
    }
    this.isAlive = false;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new WorkerDiedError(this.index, { cause: new Error('host disposed') }));
    }
    this.pending.clear();
    this.sub.unsubscribe();
  }
}
