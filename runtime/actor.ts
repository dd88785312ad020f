/**
 * Actor logic (STYLE.md §1): an actor kind is an initial state and a pure transition from
 * (state, message) to (new state, effects). The runtime owns mailboxes, workers, clocks and
 * delivery; the logic never touches them. State changes through immer recipes.
 */
import type { RandomStream } from './random';

/** A message between actors. `t` is virtual seconds; `seq` is assigned by the runtime. */
export interface Envelope<B = unknown> {
  readonly seq: number;
  readonly slot: number;
  /** Virtual time of delivery, seconds since the start of the run. */
  readonly t: number;
  readonly from: string;
  readonly to: string;
  readonly type: string;
  readonly body: B;
}

/** What a transition asks the runtime to do; effects are data, performed by the runtime. */
export type Effect =
  /** Send a message; it is delivered at virtual time ctx.t + delayS (default 0). */
  | { readonly kind: 'send'; readonly to: string; readonly type: string; readonly body: unknown; readonly delayS?: number }
  /** Record a domain event (a decision, a random draw that matters) in the event log. */
  | { readonly kind: 'log'; readonly type: string; readonly data: unknown }
  /**
   * Ask the driver (a policy process, README "Plug-ins"): must be the transition's only effect. The
   * runtime gets the answer (`RuntimeOptions.answer`) and handles the same message again, in the
   * same step, with `ctx.answer` set; only that second handling counts. Neither is logged as such.
   */
  | { readonly kind: 'ask'; readonly question: unknown };

/** What a transition may read besides its state and message. */
export interface ActorContext {
  /** This actor's id. */
  readonly self: string;
  readonly slot: number;
  /** Virtual time of the message being handled. */
  readonly t: number;
  /** This actor's own seeded stream (forked from the master seed by actor id); its position is part of the actor's state. */
  readonly random: RandomStream;
  /** Large immutable things loaded once per worker (frozen weights, data sets), by name. */
  readonly resources: Readonly<Record<string, unknown>>;
  /** The driver's answer when this message is handled again after an `ask` effect; undefined otherwise. */
  readonly answer?: unknown;
}

/** An actor kind: the logic only. */
export interface ActorKind<S = unknown, P = unknown> {
  /** Registered name, e.g. 'device'. */
  readonly kind: string;
  /** Names of per-worker resources the kind needs (see runtime resource registry). */
  readonly resources?: readonly string[];
  /**
   * Whether actors of this kind receive the slot clock: a `slot` message (from `clock`, body
   * `{ slot }`) at the start of every slot. A topology entry's `tick` overrides it. Default false.
   */
  readonly ticks?: boolean;
  initialState(params: P, ctx: ActorContext): S;
  /** Pure: the same (state, message, ctx) always gives the same result. May throw: the runtime turns that into a failure event. */
  transition(state: S, message: Envelope, ctx: ActorContext): readonly [S, readonly Effect[]];
  /**
   * Optional: handles all of the actor's mail of one step at once (`mail` in delivery order, at
   * least two messages; `ctx.t` is the first one's), so that work can be batched across messages
   * (the edge server's multi-adapter batching). Must give what `transition` folded over the mail
   * would give, so that the log does not depend on whether the mail was batched: the new state,
   * and for each message the effects it causes, timed from that message's `t`. If it throws, the runtime forgets its draws and
   * falls back to `transition` message by message, so a failure is charged to its own message.
   */
  transitionMail?(state: S, mail: readonly Envelope[], ctx: ActorContext): readonly [S, ReadonlyArray<readonly Effect[]>];
}
