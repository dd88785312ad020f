/**
 * The actor runtime (docs/architecture.md): delivers messages, performs effects, keeps the slot clock and
 * the event log, places actors on hosts and restores them when a host dies.
 *
 * Execution, per slot: the slot's first envelopes are the clock ticks (to actors that
 * subscribed: `ActorKind.ticks` / `ActorSpec.tick`) and the messages the driver sent, ordered
 * by (t, from, order of sending). Then deterministic supersteps: the pending envelopes are
 * grouped by destination; every actor handles its mail in (t, from, seq) order, all hosts in
 * parallel; the effects come back to this thread, are sorted by (t, sender, the sender's
 * effect index), numbered with the global `seq`, logged and routed for the next step. With
 * `stepping: 'time'` a step delivers only the envelopes of the earliest virtual time instead
 * (causal order in virtual time, less parallelism). The slot ends when nothing is pending:
 * its events are then appended to the log and flushed, and the hosts commit. A message's
 * `t` is the handled message's `t` + `delayS`. Nothing here reads the wall clock.
 *
 * Faults: a transition that throws leaves its actor as it was before the message, and becomes
 * a `failure` event sent to the actor's supervisor (default `runtime`: nothing more; the actor
 * goes on from its last good state). A host that dies before its slot commits is started
 * again from the snapshots of the last commit, every other host rolls back, and the slot runs
 * again from its start: the log never sees the failed attempt.
 */
import type { Envelope } from './actor';
import { collectBuffers, hasBuffers, summarizePayload } from './canonical';
import { loadPayloadDigest, payloadDigestOfVersion, type PayloadDigest } from './payloadDigest';
import { createEventLogHeader, EventLogWriter, type EventLogOptions, type LogEvent } from './eventLog';
import { PiscinaTransport } from './piscinaTransport';
import type { ActorSnapshot, FurtherPass, HostInit, OutEffect, SettleResult, StepResult, WireEnvelope } from './protocol';
import { cmpStr, mailByActor, Router, type ActorMail } from './route';
import { placeActors, TopologyError, validateTopology, type ActorSpec, type PlacementPolicy, type ResourceSpec } from './topology';
import { InlineTransport, quiet, WorkerDiedError, type HostEndpoint, type Transport } from './transport';

export interface RuntimeOptions {
  /** The master seed: every actor's stream is forked from it by actor id. */
  readonly seed: number;
  /** Worker threads; 0 (the default) runs every actor in this thread, with the same semantics. */
  readonly workers?: number;
  readonly topology: readonly ActorSpec[];
  /** Loaded once per worker at start, exposed to transitions as `ctx.resources[name]`. */
  readonly resources?: readonly ResourceSpec[];
  /** Where the event log goes; default: hashed only, not kept. */
  readonly log?: EventLogWriter | EventLogOptions;
  readonly placement?: PlacementPolicy;
  /** 'superstep' (default): a step delivers everything pending; 'time': only the earliest virtual time. */
  readonly stepping?: 'superstep' | 'time';
  /** Another transport (e.g. `ChannelTransport` in tests); `workers` then counts its hosts (at least 1). */
  readonly transport?: Transport;
  /** A slot that takes more steps fails with SlotDidNotSettleError (default 100,000). */
  readonly maxStepsPerSlot?: number;
  /** Host deaths survived within one slot before giving up (default 3). */
  readonly maxRecoveriesPerSlot?: number;
  /** Continue from a checkpoint taken with `snapshot()` (pair it with `log.continueFrom`). */
  readonly restore?: RuntimeSnapshot;
  /** Called with every event as its slot commits. */
  readonly onEvent?: (event: LogEvent) => void;
  /**
   * Answers an actor's `ask` effect (a policy process, README "Plug-ins"). A rejection fails the
   * slot: the hosts roll back to the last commit and `runSlot` rejects with it.
   */
  readonly answer?: (ask: DriverAsk) => Promise<unknown>;
}

/** An actor's question to the driver, from the message it handled at virtual time `t` of slot `slot`. */
export interface DriverAsk {
  readonly slot: number;
  readonly actor: string;
  readonly t: number;
  readonly question: unknown;
}

/** What `runSlot` returns once the slot is quiescent and committed. */
export interface SlotResult {
  readonly slot: number;
  /** Messages addressed to `driver` (and failures of actors it supervises), in seq order. */
  readonly mail: Envelope[];
  readonly events: number;
  readonly steps: number;
  readonly failures: number;
  /** Virtual time reached. */
  readonly t: number;
  /** The running hash of the log after this slot. */
  readonly logHash: string;
  /** Host deaths survived while this slot ran (one lost as the hosts commit it counts in `RuntimeStats.recoveries`). */
  readonly recoveries: number;
}

export interface RuntimeStats {
  readonly transport: string;
  readonly hosts: number;
  readonly slots: number;
  readonly steps: number;
  /** Messages handled by actors. */
  readonly messages: number;
  readonly events: number;
  readonly failures: number;
  readonly deadLetters: number;
  /** Mails an actor's `transitionMail`, or groups its `transitionGroup`, declined (threw on), handled message by message instead. */
  readonly mailFallbacks: number;
  readonly recoveries: number;
  readonly actorsPerHost: readonly number[];
  readonly handledPerHost: readonly number[];
  /** Messages between actors of one host (bodies never left it) and between hosts. */
  readonly localMessages: number;
  readonly crossHostMessages: number;
}

/** A checkpoint: everything needed to continue the run identically (taken between slots). */
export interface RuntimeSnapshot {
  readonly version: 1;
  readonly seed: number;
  /** Last committed slot (-1: none). */
  readonly slot: number;
  readonly t: number;
  readonly seq: number;
  readonly logHash: string;
  readonly actors: Array<[string, ActorSnapshot]>;
  readonly pending: Injected[];
}

interface Injected {
  readonly t: number;
  readonly from: string;
  readonly to: string;
  readonly type: string;
  readonly body: unknown;
}

/** A pass's first messages in routing order: by time, then sender; stable (ticks by id, the driver's in the order sent). */
function sortedSends(list: Injected[]): Injected[] {
  return list.sort((a, b) => a.t - b.t || cmpStr(a.from, b.from));
}

/** A slot kept producing messages past `maxStepsPerSlot`. */
export class SlotDidNotSettleError extends Error {
  override readonly name = 'SlotDidNotSettleError';
  constructor(
    readonly slot: number,
    readonly steps: number,
  ) {
    super(`slot ${slot} did not settle within ${steps} steps (actors keep messaging each other at the same slot?)`);
  }
}

/** The run cannot go on (hosts keep dying, or the runtime was misused). */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
}

/** How `runSlot` runs a slot. */
export interface SlotOptions {
  /** Virtual time at which the slot (or pass) starts; default: now. */
  readonly t?: number;
  /** Another pass of the last slot (same slot number, no clock ticks) rather than a new slot. */
  readonly pass?: boolean;
  /**
   * A further pass in the same call: once everything before has settled, the driver's `sends` are
   * delivered (each at its `t`, default `then.t`) and the slot runs on, as `send` (with those
   * times) then `runSlot(slot, { pass: true, t: then.t })` would run it, with the same log, but
   * without returning in between: for what the driver knows before the first pass runs. The result
   * covers both passes (their mail together). Unlike two calls, both passes share one
   * `maxStepsPerSlot` and one commit: a host lost in the further pass runs both again (a question
   * the first pass put to `answer` is put again).
   */
  readonly then?: { readonly t: number; readonly sends: ReadonlyArray<DriverSend> };
}

/** A message from the driver, as `send` takes it. */
export interface DriverSend {
  readonly to: string;
  readonly type: string;
  readonly body?: unknown;
  readonly t?: number;
}

export interface Runtime {
  /** The driver sends a message, delivered in the next `runSlot` at virtual time `t` (default: now). */
  send(to: string, type: string, body?: unknown, t?: number): void;
  /**
   * Runs slot `slot` (greater than the last) until quiescent; commits it and returns the driver's mail.
   * With `pass: true`, runs another pass of the last slot instead (same slot number, no clock ticks):
   * the driver acts between a slot's passes on what the first ones returned.
   */
  runSlot(slot: number, options?: SlotOptions): Promise<SlotResult>;
  /** A checkpoint (between slots). */
  snapshot(): Promise<RuntimeSnapshot>;
  stats(): RuntimeStats;
  /** The last committed slot (-1 before the first). */
  readonly slot: number;
  /** Virtual time reached. */
  readonly now: number;
  readonly logHash: string;
  readonly log: EventLogWriter;
  /** How this run's payload summaries digest tensors (the log's version decides). */
  readonly payloadDigest: PayloadDigest;
  /** Test hook: host `worker` dies during step `step` (default 0) of slot `slot`, after computing, before answering. */
  injectWorkerCrash(worker: number, at: { readonly slot: number; readonly step?: number }): void;
  /** Stops every worker and closes the log; idempotent. */
  close(): Promise<void>;
}

/** The buffers of a batch's bodies: moved to the host, not copied. */
function bodyBuffers(mail: readonly ActorMail[]): ArrayBuffer[] {
  const transfer = new Set<ArrayBuffer>();
  for (const [, l] of mail) for (const e of l) if (e.body !== undefined) collectBuffers(e.body, transfer);
  return [...transfer];
}
const EMPTY_STEP: StepResult = { effects: [], handled: 0 };
/** Events formatted between two looks at whether the hosts have answered (about 0.1 ms of work). */
const DRAFT_CHUNK = 8;
/** Lets pending I/O (the hosts' answers) run before the next chunk of work. */
const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Starts a runtime: validates the topology, starts the hosts, creates (or restores) every actor. */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { seed } = options;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new TopologyError('seed', 'must be an integer in [0, 2^32)');
  const workers = options.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) throw new TopologyError('workers', 'must be an integer >= 0');
  const specs = validateTopology(options.topology, !options.transport && workers > 0);
  const hosts = Math.max(1, workers);
  const transport = options.transport ?? (workers > 0 ? new PiscinaTransport(workers) : new InlineTransport());
  const placement = placeActors(specs, hosts, options.placement);
  const rt = new ActorRuntime(options, specs, placement, hosts, transport);
  try {
    await rt.start();
  } catch (err) {
    await rt.close();
    throw err;
  }
  return rt;
}

class ActorRuntime implements Runtime {
  private endpoints: HostEndpoint[] = [];
  private readonly specs = new Map<string, ActorSpec>();
  private readonly hostOf: Record<string, number> = {};
  private ticking: string[] = [];
  private readonly snapshots = new Map<string, ActorSnapshot>();
  private injected: Injected[] = [];
  private seq = 0;
  private t = 0;
  private last = -1;
  private busy = false;
  /** Set once the running slot is committed in this thread (logged, counted): it is not rolled back after that. */
  private slotCommitted = false;
  /**
   * The hosts' commit of the last slot, under way: runSlot returns without waiting for it (the
   * commit is the next message on each host's port, ahead of anything sent later), and whatever
   * talks to the hosts next (runSlot, snapshot, close) waits for it first and throws its failure.
   */
  private committing: Promise<void> = Promise.resolve();
  /**
   * The last slot's commit rides on the next pass instead (`SettleBatch.commitFirst`): a host that
   * settles whole passes reads its port in order, so it commits before anything else, and the pass
   * goes out without waiting for a round trip. Anything else that talks to the hosts sends it first
   * (`sendOwedCommit`).
   */
  private commitOwed = false;
  /**
   * Snapshots that follow the answers of settled passes (`SettleResult.snapshotsFollow`): the tags
   * of committed passes not yet applied, oldest first, and what came in. Read while the host
   * computes the next pass, and waited for only where they are used (a checkpoint, a recovery).
   */
  private readonly snapshotsOwed: number[] = [];
  private readonly snapshotsReceived = new Map<number, Array<[string, ActorSnapshot]>>();
  private lastSnapshotTag = 0;
  private closed = false;
  private readonly crashes: Array<{ worker: number; slot: number; step: number }> = [];
  private readonly counters = {
    slots: 0,
    steps: 0,
    messages: 0,
    failures: 0,
    deadLetters: 0,
    recoveries: 0,
    local: 0,
    cross: 0,
    mailFallbacks: 0,
  };
  private readonly handled: number[];
  readonly log: EventLogWriter;
  /** Set by `start`: the log's version decides it, so there is no default. */
  private digest?: PayloadDigest;

  constructor(
    private readonly options: RuntimeOptions,
    specList: readonly ActorSpec[],
    placement: readonly number[],
    private readonly hosts: number,
    private readonly transport: Transport,
  ) {
    specList.forEach((s, i) => {
      this.specs.set(s.id, s);
      this.hostOf[s.id] = placement[i]!;
    });
    this.handled = new Array<number>(hosts).fill(0);
    const log = options.log;
    this.log =
      log instanceof EventLogWriter ? log : new EventLogWriter(createEventLogHeader({ seed: options.seed, ...log?.header }), log ?? {});
    const r = options.restore;
    if (r) {
      if (r.version !== 1) throw new TopologyError('restore.version', `unsupported snapshot version ${String(r.version)}`);
      if (r.seed !== options.seed) throw new TopologyError('restore.seed', `snapshot of seed ${r.seed}, runtime seed ${options.seed}`);
      for (const [id, s] of r.actors) this.snapshots.set(id, s);
      for (const id of this.specs.keys())
        if (!this.snapshots.has(id)) throw new TopologyError('restore.actors', `no snapshot of actor '${id}'`);
      this.seq = r.seq;
      this.t = r.t;
      this.last = r.slot;
      this.injected = structuredClone(r.pending);
    }
  }

  get slot(): number {
    return this.last;
  }
  get now(): number {
    return this.t;
  }
  get payloadDigest(): PayloadDigest {
    if (!this.digest) throw new RuntimeError('payloadDigest: the runtime has not started');
    return this.digest;
  }
  get logHash(): string {
    return this.log.hash;
  }

  private hostInit(index: number): HostInit {
    return {
      seed: this.options.seed,
      index,
      resources: this.options.resources ?? [],
      placement: this.hostOf,
      payloadDigest: this.payloadDigest.name,
      // Only where a host settles whole passes (one worker thread): with several, the main thread is busy between steps.
      deferSummaries: this.transport.sharesMemory === true && this.canSettle(),
    };
  }

  private actorsOn(index: number): ActorSpec[] {
    return [...this.specs.values()].filter((s) => this.hostOf[s.id] === index);
  }

  /**
   * Starts host `index`; a host that dies while starting (before slot 0, or before the first slot
   * of a resumed run) is started again on a fresh worker, as one lost mid-run is, up to
   * `maxRecoveriesPerSlot` times.
   */
  private async startHostSurviving(index: number): Promise<string[]> {
    for (let tries = 0; ; tries++) {
      try {
        return await this.startHost(index);
      } catch (err) {
        if (!(err instanceof WorkerDiedError) || tries >= (this.options.maxRecoveriesPerSlot ?? 3)) throw err;
        this.endpoints[index]?.dispose();
        this.counters.recoveries++;
      }
    }
  }

  /** Opens, initialises and loads host `index`, from snapshots when there are. */
  private async startHost(index: number): Promise<string[]> {
    const ep = await this.transport.open(index);
    this.endpoints[index] = ep;
    await ep.init(this.hostInit(index));
    const loads = this.actorsOn(index).map((spec) => ({ spec, snapshot: this.snapshots.get(spec.id) }));
    const { snapshots, ticking } = await ep.load(loads);
    if (this.transport.canFail || this.options.restore) for (const [id, s] of snapshots) this.snapshots.set(id, s);
    return ticking;
  }

  async start(): Promise<void> {
    this.digest = await loadPayloadDigest(payloadDigestOfVersion(this.log.header.version));
    const ticking = await Promise.all(Array.from({ length: this.hosts }, (_, i) => this.startHostSurviving(i)));
    this.ticking = ticking.flat().sort(cmpStr);
    if (!this.transport.canFail) this.snapshots.clear();
  }

  send(to: string, type: string, body?: unknown, t?: number): void {
    if (this.closed) throw new RuntimeError('send: the runtime is closed');
    this.injected.push(this.driverMessage('send', to, type, body, t ?? this.t));
  }

  /** A driver's message as the slot will route it (its body a copy: the driver may reuse its own). */
  private driverMessage(what: string, to: string, type: string, body: unknown, t: number): Injected {
    if (to !== 'driver' && !this.specs.has(to)) throw new TopologyError(`${what}.to`, `no actor '${to}'`);
    if (!Number.isFinite(t) || t < 0) throw new RangeError(`${what}: t must be a finite number >= 0, got ${t}`);
    return { t, from: 'driver', to, type, body: structuredClone(body) };
  }

  injectWorkerCrash(worker: number, at: { readonly slot: number; readonly step?: number }): void {
    const ep = this.endpoints[worker];
    if (!ep) throw new RangeError(`injectWorkerCrash: no worker ${worker} (there are ${this.hosts})`);
    if (!ep.canCrash) throw new RuntimeError(`injectWorkerCrash: the ${this.transport.name} transport has no workers to crash`);
    this.crashes.push({ worker, slot: at.slot, step: at.step ?? 0 });
  }

  private takeCrash(slot: number, step: number): number {
    const i = this.crashes.findIndex((c) => c.slot === slot && c.step === step);
    if (i < 0) return -1;
    return this.crashes.splice(i, 1)[0]!.worker;
  }

  async runSlot(slot: number, options: SlotOptions = {}): Promise<SlotResult> {
    if (this.closed) throw new RuntimeError('runSlot: the runtime is closed');
    if (this.busy) throw new RuntimeError('runSlot: a slot is already running');
    if (options.pass) {
      if (slot !== this.last) throw new RangeError(`runSlot: a further pass runs the last slot (${this.last}), got ${slot}`);
    } else if (!Number.isInteger(slot) || slot <= this.last)
      throw new RangeError(`runSlot: slot must be an integer greater than ${this.last}, got ${slot}`);
    const startT = options.t ?? this.t;
    if (!Number.isFinite(startT) || startT < 0) throw new RangeError(`runSlot: t must be a finite number >= 0, got ${startT}`);
    const then = options.then;
    if (then && (!Number.isFinite(then.t) || then.t < 0))
      throw new RangeError(`runSlot: then.t must be a finite number >= 0, got ${then.t}`);
    const later = then ? sortedSends(then.sends.map((m) => this.driverMessage('runSlot.then', m.to, m.type, m.body, m.t ?? then.t))) : [];
    this.busy = true;
    try {
      // The last slot's commit, whose failure is this call's error (the driver's messages stay queued), unless it rides on this pass.
      if (!this.commitOwed) await this.committing;
      const injected = this.injected;
      this.injected = [];
      let recoveries = 0;
      for (;;) {
        try {
          // A host may die mid-slot: keep the slot's inputs, since their buffers move to the hosts (if they have any).
          const input = this.transport.canFail && injected.some((m) => hasBuffers(m.body)) ? structuredClone(injected) : injected;
          const further = then ? { t: then.t, sends: this.transport.canFail ? structuredClone(later) : later } : undefined;
          return await this.attempt(slot, startT, input, recoveries, options.pass === true, further);
        } catch (err) {
          // Past its commit in this thread the slot stands: nothing to roll back or run again.
          if (this.slotCommitted) throw err;
          if (!(err instanceof WorkerDiedError)) {
            // The slot failed (e.g. a driver answer): leave every host at the last commit, as if it never ran.
            await this.recover('rollback').catch(() => undefined);
            throw err;
          }
          if (++recoveries > (this.options.maxRecoveriesPerSlot ?? 3))
            throw new RuntimeError(`slot ${slot}: workers died ${recoveries} times; giving up`, { cause: err });
          await this.recover('rollback');
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async attempt(
    slot: number,
    startT: number,
    injected: Injected[],
    recoveries: number,
    pass: boolean,
    further?: { t: number; sends: Injected[] },
  ): Promise<SlotResult> {
    this.slotCommitted = false;
    const out = await this.execute(slot, startT, injected, pass, further);
    // The hosts copy out their snapshots while this thread formats the slot's last events.
    const collecting =
      this.transport.canFail && !out.snapshots && out.snapshotsFollow === undefined
        ? quiet(Promise.all(this.endpoints.map((ep) => ep.collect())))
        : undefined;
    out.draft.add(out.records.slice(out.drafted));
    if (out.snapshots) for (const [id, s] of out.snapshots) this.snapshots.set(id, s);
    if (out.snapshotsFollow !== undefined) this.snapshotsOwed.push(out.snapshotsFollow);
    if (collecting) for (const list of await collecting) for (const [id, s] of list) this.snapshots.set(id, s);
    // From here the slot is committed in this thread: its lines go to disk (awaited below) while the
    // hosts commit (awaited by the next call); a host lost while committing is restored from the snapshots.
    const events = this.log.commit(out.draft);
    const written = this.log.writeOut(); // after the hosts are told to commit (below): written in a microtask
    this.slotCommitted = true;
    this.seq = out.seq;
    this.t = out.tMax;
    this.last = slot;
    const c = this.counters;
    if (!pass) c.slots++;
    c.steps += out.steps;
    c.messages += out.handled;
    c.failures += out.failures;
    c.deadLetters += out.deadLetters;
    c.mailFallbacks += out.mailFallbacks;
    c.local += out.local;
    c.cross += out.cross;
    out.handledPerHost.forEach((n, i) => (this.handled[i]! += n));
    // Not awaited here: the hosts commit while this thread writes the lines and the driver goes on;
    // a host that settles whole passes commits as it starts the next one.
    if (this.canSettle()) this.commitOwed = true;
    else this.startCommit(slot);
    // On disk when runSlot returns.
    await written.catch((err: unknown) => {
      throw new RuntimeError(`slot ${slot}: its event log lines could not be written`, { cause: err });
    });
    if (this.options.onEvent) for (const e of events) this.options.onEvent(e);
    return {
      slot,
      mail: out.mail,
      events: events.length,
      steps: out.steps,
      failures: out.failures,
      t: out.tMax,
      logHash: this.log.hash,
      recoveries,
    };
  }

  /** The hosts commit `slot` (not awaited: `committing`). */
  private startCommit(slot: number): void {
    this.committing = this.commitHosts(slot);
    this.committing.catch(() => undefined); // thrown by the next runSlot, snapshot or close, not as an unhandled rejection
  }

  /** The last slot's commit, sent now if it was to ride on the next pass, and awaited. */
  private sendOwedCommit(): Promise<void> {
    if (this.commitOwed) {
      this.commitOwed = false;
      this.startCommit(this.last);
    }
    return this.committing;
  }

  /** The hosts commit the slot just run; a host lost meanwhile is restarted from the slot's snapshots. */
  private async commitHosts(slot: number): Promise<void> {
    for (let tries = 0; ; tries++) {
      try {
        await Promise.all(this.endpoints.map((ep) => ep.commit()));
        return;
      } catch (err) {
        if (!(err instanceof WorkerDiedError) || tries >= (this.options.maxRecoveriesPerSlot ?? 3))
          throw new RuntimeError(`slot ${slot}: cannot commit`, { cause: err });
        await this.recover('commit').catch(() => undefined);
      }
    }
  }

  /** Restarts dead hosts from the last snapshots; the others roll back to (or complete) the last commit. */
  private async recover(mode: 'rollback' | 'commit'): Promise<void> {
    // A rollback goes back to the last slot's commit: a host still owed it gets it first (one lost meanwhile restarts from the snapshots).
    if (this.commitOwed) await this.sendOwedCommit().catch(() => undefined);
    await this.receiveOwedSnapshots();
    const dead = this.endpoints.filter((ep) => !ep.alive).map((ep) => ep.index);
    // A restarted host numbers its snapshots from 1 again.
    if (dead.length > 0) {
      this.snapshotsReceived.clear();
      this.lastSnapshotTag = 0;
    }
    for (const i of dead) {
      this.endpoints[i]!.dispose();
      this.counters.recoveries++;
    }
    await Promise.all(
      this.endpoints.map((ep, i) => (dead.includes(i) ? this.startHost(i) : mode === 'rollback' ? ep.rollback() : ep.commit())),
    );
  }

  /** Applies the snapshots that followed committed passes and have come in (none waits). */
  private receiveSnapshots(): void {
    const ep = this.endpoints[0];
    if (this.hosts !== 1 || !ep?.receiveSnapshots) return;
    for (const { tag, snapshots } of ep.receiveSnapshots()) this.snapshotsReceived.set(tag, snapshots);
    for (let tag = this.snapshotsOwed[0]; tag !== undefined && this.snapshotsReceived.has(tag); tag = this.snapshotsOwed[0]) {
      for (const [id, s] of this.snapshotsReceived.get(tag)!) this.snapshots.set(id, s);
      this.snapshotsOwed.shift();
      this.lastSnapshotTag = tag;
    }
    // Those of passes that failed after their answer were never owed: gone once a later one is applied.
    for (const tag of this.snapshotsReceived.keys()) if (tag <= this.lastSnapshotTag) this.snapshotsReceived.delete(tag);
  }

  /** Every snapshot owed, waited for; a host that died before sending them leaves its actors without a state to restore. */
  private async receiveOwedSnapshots(): Promise<void> {
    for (;;) {
      this.receiveSnapshots();
      if (this.snapshotsOwed.length === 0) return;
      if (!this.endpoints[0]?.alive)
        throw new RuntimeError(`worker 0 died before sending the snapshots of its last slot (${this.last}): its actors cannot be restored`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Whether a pass runs on the one host in one call (`HostApi.settle`) rather than step by step. */
  private canSettle(): boolean {
    return this.hosts === 1 && this.endpoints[0]?.settle !== undefined && (this.options.stepping ?? 'superstep') === 'superstep';
  }

  private async execute(
    slot: number,
    startT: number,
    injected: readonly Injected[],
    pass: boolean,
    later?: { t: number; sends: readonly Injected[] },
  ) {
    const router = new Router(slot, this.seq, Math.max(this.t, startT), (id) => this.specs.has(id));
    const records = router.records;
    // The slot's events are formatted and chained while the workers compute the next step.
    const draft = this.log.draft(this.payloadDigest);
    let drafted = 0;
    let mailFallbacks = 0;
    let handled = 0;
    let snapshots: Array<[string, ActorSnapshot]> | undefined;
    let snapshotsFollow: number | undefined;
    const handledPerHost = new Array<number>(this.hosts).fill(0);

    const ticks = pass ? [] : this.ticking.map((id) => ({ t: startT, from: 'clock', to: id, type: 'slot', body: { slot } }));
    const summarized = (list: readonly Injected[]): FurtherPass['sends'] =>
      list.map((m) => ({ ...m, payload: summarizePayload(m.body, this.payloadDigest) }));
    // Bodies that move nothing to a host (posting copies them) are summarised by the log's draft, while the hosts compute.
    router.inject(
      startT,
      sortedSends([...ticks, ...injected]).map((m) => ({
        ...m,
        payload: hasBuffers(m.body) ? summarizePayload(m.body, this.payloadDigest) : { body: m.body },
      })),
    );
    // The driver's further pass (runSlot's `then`), routed when everything before has settled.
    let further: FurtherPass | undefined = later ? { t: later.t, sends: summarized(later.sends) } : undefined;

    const stepping = this.options.stepping ?? 'superstep';
    const maxSteps = this.options.maxStepsPerSlot ?? 100_000;
    const settle = this.canSettle();
    let step = 0;
    while (router.pending.length > 0 || further) {
      if (router.pending.length === 0 && further) {
        router.inject(further.t, further.sends);
        further = undefined;
        continue;
      }
      if (step >= maxSteps) throw new SlotDidNotSettleError(slot, step);
      let now = router.take();
      if (stepping === 'time') {
        const minT = now.reduce((m, p) => Math.min(m, p.t), Infinity);
        router.pending = now.filter((p) => p.t !== minT);
        now = now.filter((p) => p.t === minT);
      }
      let results: StepResult[];
      if (settle) {
        // One host holds every actor: it runs the pass's steps itself and sends the records as it goes.
        const mail = mailByActor(now);
        const planned = this.crashes.filter((c) => c.slot === slot && c.step >= step).map((c) => c.step);
        const crashAt = planned.length > 0 ? Math.min(...planned) : undefined;
        let r: SettleResult;
        try {
          const answer = this.endpoints[0]!.settle!(
            {
              slot,
              step,
              mail,
              seq: router.seq,
              tMax: router.tMax,
              maxSteps: maxSteps - step,
              collect: this.transport.canFail,
              crashAt,
              ...(this.commitOwed ? { commitFirst: true } : {}),
              ...(further ? { then: further } : {}),
            },
            bodyBuffers(mail),
            (more) => {
              for (const e of more) records.push(e);
              draft.add(records.slice(drafted));
              drafted = records.length;
            },
          );
          this.commitOwed = false; // on its way, ahead of the pass
          this.receiveSnapshots(); // the last pass's, while the host computes this one
          r = await answer;
        } catch (err) {
          // A crash planned for this pass is spent when the host dies of it, as `takeCrash` spends it at its step.
          if (crashAt !== undefined && err instanceof WorkerDiedError) this.takeCrash(slot, crashAt);
          throw err;
        }
        for (const e of r.records) records.push(e);
        router.absorb(r.totals, r.mail, r.pending);
        if (r.furtherRouted) further = undefined;
        step += r.steps;
        handled += r.handled;
        handledPerHost[0]! += r.handled;
        mailFallbacks += r.mailFallbacks;
        snapshots = r.snapshots;
        snapshotsFollow = r.snapshotsFollow;
        if (!r.open) continue;
        // Actors asked the driver in the step after the routed ones: answered below, as in a step of the runtime's own.
        results = [r.open];
      } else {
        snapshots = undefined;
        snapshotsFollow = undefined;
        const perHost = Array.from({ length: this.hosts }, () => [] as WireEnvelope[]);
        for (const p of now) perHost[this.hostOf[p.to]!]!.push(p);
        const crash = this.takeCrash(slot, step);
        const stepDone = Promise.all(
          this.endpoints.map((ep, h) => {
            const m = perHost[h]!;
            if (m.length === 0 && crash !== h) return EMPTY_STEP;
            const batchMail = mailByActor(m);
            return ep.step({ slot, step, mail: batchMail, ...(crash === h ? { crash: true } : {}) }, bodyBuffers(batchMail));
          }),
        );
        // Format and chain the events so far while the hosts compute, a few at a time, so that their
        // answers never wait behind a long draft; what is left is done at the next step or at the end.
        let answered = false;
        void stepDone.then(
          () => (answered = true),
          () => (answered = true),
        );
        while (drafted < records.length && !answered) {
          const end = Math.min(records.length, drafted + DRAFT_CHUNK);
          draft.add(records.slice(drafted, end));
          drafted = end;
          await nextMacrotask();
        }
        results = [...(await stepDone)];
      }
      await this.answerAsks(slot, step, results);
      const effects: OutEffect[] = [];
      results.forEach((r, h) => {
        handled += r.handled;
        handledPerHost[h]! += r.handled;
        mailFallbacks += r.mailFallbacks ?? 0;
        for (const e of r.effects) effects.push(e);
      });
      router.ingest(effects);
      step++;
    }
    return {
      records,
      draft,
      drafted,
      mail: router.mail,
      ...router.totals(),
      steps: step,
      mailFallbacks,
      handled,
      handledPerHost,
      snapshots,
      snapshotsFollow,
    };
  }

  /** Actors that asked the driver: their step is held by their host until the answers come back; their effects join `results`. */
  private async answerAsks(slot: number, step: number, results: StepResult[]): Promise<void> {
    for (let asks = results.flatMap((r, h) => (r.asks ?? []).map((a) => ({ ...a, host: h }))); asks.length > 0;) {
      const answer = this.options.answer;
      if (!answer) throw new RuntimeError(`slot ${slot}: ${asks[0]!.actor} asked the driver, and this runtime has no answer function`);
      const answers = await Promise.all(asks.map((a) => answer({ slot, actor: a.actor, t: a.t, question: a.question })));
      const again = await Promise.all(
        this.endpoints.map((ep, h) => {
          const mine = asks.flatMap((a, i) => (a.host === h ? [[a.actor, answers[i]] as const] : []));
          return mine.length === 0 ? EMPTY_STEP : ep.step({ slot, step, mail: [], answers: mine }, []);
        }),
      );
      again.forEach((r, h) => {
        if (r.effects.length > 0)
          results[h] = {
            ...results[h]!,
            effects: [...results[h]!.effects, ...r.effects],
            mailFallbacks: (results[h]!.mailFallbacks ?? 0) + (r.mailFallbacks ?? 0),
          };
      });
      asks = again.flatMap((r, h) => (r.asks ?? []).map((a) => ({ ...a, host: h })));
    }
  }

  async snapshot(): Promise<RuntimeSnapshot> {
    if (this.busy) throw new RuntimeError('snapshot: take it between slots');
    await this.sendOwedCommit();
    await this.receiveOwedSnapshots();
    let actors: Array<[string, ActorSnapshot]>;
    if (this.transport.canFail) actors = structuredClone([...this.snapshots.entries()]);
    else actors = (await Promise.all(this.endpoints.map((ep) => ep.snapshot()))).flat();
    actors.sort((a, b) => cmpStr(a[0], b[0]));
    return {
      version: 1,
      seed: this.options.seed,
      slot: this.last,
      t: this.t,
      seq: this.seq,
      logHash: this.log.hash,
      actors,
      pending: structuredClone(this.injected),
    };
  }

  stats(): RuntimeStats {
    const c = this.counters;
    const actorsPerHost = new Array<number>(this.hosts).fill(0);
    for (const h of Object.values(this.hostOf)) actorsPerHost[h]! += 1;
    return {
      transport: this.transport.name,
      hosts: this.hosts,
      slots: c.slots,
      steps: c.steps,
      messages: c.messages,
      events: this.log.count,
      failures: c.failures,
      deadLetters: c.deadLetters,
      mailFallbacks: c.mailFallbacks,
      recoveries: c.recoveries,
      actorsPerHost,
      handledPerHost: [...this.handled],
      localMessages: c.local,
      crossHostMessages: c.cross,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Lines still being written (a slot that failed after its commit): a failed write is this run's error, not lost.
    const written = await this.log.drained().then(
      () => undefined,
      (err: unknown) => err,
    );
    // The last slot's lines are written whatever happens here; a host that cannot commit it is reported after closing.
    const committed = await this.sendOwedCommit().then(
      () => undefined,
      (err: unknown) => err,
    );
    await Promise.allSettled(this.endpoints.map((ep) => ep.close()));
    await this.transport.close();
    this.log.close();
    if (written !== undefined)
      throw new RuntimeError(
        `the event log could not be written${committed !== undefined ? ' (and the hosts could not commit the last slot)' : ''}`,
        {
          cause: written,
        },
      );
    if (committed !== undefined) throw committed;
  }
}
