/**
 * The wire protocol between the runtime (main thread) and the actor hosts (worker threads, or
 * the main thread itself for the in-process executor). Types only: the one RPC boundary
 * is built on these, by the transports in `transport.ts`.
 */
import type { Envelope } from './actor';
import type { EventRecord } from './eventLog';
import type { PayloadDigestName } from './payloadDigest';
import type { RandomState } from '../util/random';
import type { ActorSpec, ResourceSpec } from './topology';

/** What an actor is between slots: its state and the position of its random stream. */
export interface ActorSnapshot<S = unknown> {
  readonly state: S;
  readonly random: RandomState;
}

/** A message on the wire. A body kept inside the host that will deliver it travels as `bodyRef`. */
export interface WireEnvelope extends Omit<Envelope, 'body'> {
  readonly body?: unknown;
  /** Handle of a body held in the destination host's outbox (a message between two actors of one host). */
  readonly bodyRef?: number;
}

/** Summary of a payload for the event log: its size and a digest form of its value. */
export interface PayloadSummary {
  readonly bits: number;
  readonly value: unknown;
}

/**
 * A payload the log's writer summarises (`summarizePayload`, runtime/canonical.ts), in the runtime's
 * thread, while the host that sent it computes on (`HostInit.deferSummaries`): the body itself.
 */
export interface PayloadToSummarize {
  readonly body: unknown;
}

/** What a record carries of its payload: its summary, or the body for the log's writer to summarise. */
export type LoggedPayload = PayloadSummary | PayloadToSummarize;

/** Whether `p` is a summary already (not a body left to the log's writer). */
export function isSummary(p: LoggedPayload): p is PayloadSummary {
  return (p as Partial<PayloadSummary>).bits !== undefined;
}

/** One effect of a step, before the runtime orders it and gives it a `seq`. */
export interface OutEffect {
  readonly kind: 'send' | 'log' | 'failure';
  readonly from: string;
  /** Index of the effect among all effects of `from` in this step: the tie-breaker after (t, from). */
  readonly idx: number;
  readonly t: number;
  readonly to: string;
  readonly type: string;
  readonly body?: unknown;
  readonly bodyRef?: number;
  readonly payload: LoggedPayload;
}

/** Everything a host needs at start. */
export interface HostInit {
  readonly seed: number;
  readonly index: number;
  readonly resources: readonly ResourceSpec[];
  /** Which host each actor lives on, so that a host can keep the bodies of its internal messages. */
  readonly placement: Readonly<Record<string, number>>;
  /** How payload summaries digest tensors: the log's version decides (runtime/payloadDigest.ts). */
  readonly payloadDigest: PayloadDigestName;
  /**
   * The host shares a memory with the runtime's thread (a worker thread) and settles whole passes
   * (it is the run's only host): it allocates its model
   * outputs in shared memory (util/sharedTensors.ts), and the records of a pass it settles carry
   * their bodies, which the runtime's thread summarises and digests while the host computes on
   * (the tensors read where they are, not copied).
   */
  readonly deferSummaries?: boolean;
}

/** An actor to (re)create on a host: from its spec, and from a snapshot when restoring. */
export interface ActorLoad {
  readonly spec: ActorSpec;
  readonly snapshot?: ActorSnapshot;
}

/** One superstep's mail for one host: per actor, its envelopes in (t, from, seq) order. */
export interface StepBatch {
  readonly slot: number;
  readonly step: number;
  readonly mail: ReadonlyArray<readonly [string, readonly WireEnvelope[]]>;
  /** Test hook: the host exits after computing the step, before answering. */
  readonly crash?: boolean;
  /**
   * Answers to the asks of this step's earlier call (`mail` is then empty): each asking actor
   * handles its held mail of the step again, the asking message with `ctx.answer` set.
   */
  readonly answers?: ReadonlyArray<readonly [string, unknown]>;
}

/** An actor's `ask` effect: the question for the driver, from the message handled at virtual time `t`. */
export interface AskOut {
  readonly actor: string;
  readonly t: number;
  readonly question: unknown;
}

export interface StepResult {
  readonly effects: readonly OutEffect[];
  /** Messages handled in this step. */
  readonly handled: number;
  /** Mails that `transitionMail`, or groups that `transitionGroup`, declined by throwing, handled message by message instead. */
  readonly mailFallbacks?: number;
  /** Actors that asked the driver: their step is held (nothing of it in `effects`) until answered. */
  readonly asks?: readonly AskOut[];
}

/** What a router (route.ts) counted, and where it left the numbering and the clock. */
export interface RouteTotals {
  readonly seq: number;
  /** The latest virtual time routed. */
  readonly tMax: number;
  readonly failures: number;
  readonly deadLetters: number;
  /** Messages between actors of one host (`bodyRef`) and between hosts. */
  readonly local: number;
  readonly cross: number;
}

/**
 * A pass of a slot run by the one host that holds every actor: it routes its own effects from step
 * to step, in the runtime's order (route.ts), instead of one round trip to the runtime per step.
 */
export interface SettleBatch {
  readonly slot: number;
  /** Index of the pass's first step (steps are counted across calls within a pass). */
  readonly step: number;
  /** The first step's mail, as in `StepBatch`. */
  readonly mail: StepBatch['mail'];
  /** The next `seq` to give, and the latest virtual time routed so far. */
  readonly seq: number;
  readonly tMax: number;
  /** Steps to run at most (then what is pending comes back in `pending`). */
  readonly maxSteps: number;
  /** Test hook: the host exits after computing this step (its index in the slot), before answering. */
  readonly crashAt?: number;
  /** Add the snapshots of the actors changed since the last commit, as `collect` returns them, when the pass settles. */
  readonly collect?: boolean;
  /** Commit the last slot first (as `commit`): the runtime's commit rides on the next pass instead of a round trip of its own. */
  readonly commitFirst?: boolean;
  /** The driver's messages for a further pass once this one settles (`runSlot`'s `then`), if not yet routed. */
  readonly then?: FurtherPass;
}

/**
 * The driver's messages of a further pass run in the same call once everything before has settled
 * (`runSlot`'s `then`): in routing order, with their payload summaries, numbered when routed.
 */
export interface FurtherPass {
  /** The further pass's start time (as `runSlot`'s `t`). */
  readonly t: number;
  readonly sends: ReadonlyArray<{
    readonly t: number;
    readonly from: string;
    readonly to: string;
    readonly type: string;
    readonly body: unknown;
    readonly payload: PayloadSummary;
  }>;
}

export interface SettleResult {
  /** The pass's records after those sent while it ran (`HostApi.settle`'s `progress`). */
  readonly records: readonly EventRecord[];
  /** Messages to the driver, with their bodies. */
  readonly mail: readonly Envelope[];
  /** Envelopes not yet delivered: left when `maxSteps` ran out. */
  readonly pending: readonly WireEnvelope[];
  readonly totals: RouteTotals;
  /** The steps routed, the messages they handled and their mail fallbacks (`open` apart). */
  readonly steps: number;
  readonly handled: number;
  readonly mailFallbacks: number;
  /** The step after them, whose actors asked the driver: its result as `step` returns it, not yet routed or counted. */
  readonly open?: StepResult;
  /** When asked for and the pass settled. */
  readonly snapshots?: Array<[string, ActorSnapshot]>;
  /**
   * The snapshots asked for follow the answer under this tag, on the endpoint's snapshot port
   * (`HostEndpoint.receiveSnapshots`): the host copies them out after answering, while the runtime's thread goes on.
   */
  readonly snapshotsFollow?: number;
  /** Whether the batch's `then` was routed here. */
  readonly furtherRouted?: boolean;
}

/** The snapshots of a settled pass, sent after its answer (`SettleResult.snapshotsFollow`). */
export interface FollowingSnapshots {
  /** The answer's `snapshotsFollow`: numbered by the host from 1, in the order it answers. */
  readonly tag: number;
  readonly snapshots: Array<[string, ActorSnapshot]>;
}

/** What `load` returns. */
export interface LoadResult {
  /** Snapshots of the actors created from their initial state (not of those restored). */
  readonly snapshots: Array<[string, ActorSnapshot]>;
  /** Ids of the loaded actors that receive the slot clock. */
  readonly ticking: string[];
}

/** The API of a host as the runtime sees it across the boundary. Every method is async. */
export interface HostApi {
  init(init: HostInit): Promise<void>;
  /** Creates actors from their specs (and snapshots, when restoring). */
  load(actors: readonly ActorLoad[]): Promise<LoadResult>;
  /** Runs one step; the buffers in `transfer` (of the batch's bodies) are moved, not copied. */
  step(batch: StepBatch, transfer: readonly ArrayBuffer[]): Promise<StepResult>;
  /**
   * Runs a pass's steps on a host that holds every actor (optional: a transport without it is
   * stepped one step at a time). `progress` receives each step's records as they are routed, in
   * order, before the result; the buffers in `transfer` are moved.
   */
  settle?(batch: SettleBatch, transfer: readonly ArrayBuffer[], progress: (records: readonly EventRecord[]) => void): Promise<SettleResult>;
  /** Snapshots of the actors changed since the last commit (the slot's changes). */
  collect(): Promise<Array<[string, ActorSnapshot]>>;
  /** Makes the current states the ones a rollback returns to. */
  commit(): Promise<void>;
  /** Returns every actor to its state at the last commit and forgets held bodies. */
  rollback(): Promise<void>;
  /** Snapshots of the given actors (all when omitted). */
  snapshot(ids?: readonly string[]): Promise<Array<[string, ActorSnapshot]>>;
  /** Replaces the states of existing actors. */
  restore(snapshots: ReadonlyArray<readonly [string, ActorSnapshot]>): Promise<void>;
  /** Ends the host (resolves its piscina task). */
  close(): Promise<void>;
}
