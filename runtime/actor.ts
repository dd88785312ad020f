/**
 * Actor logic: an actor kind is an initial state and a pure transition from
 * (state, message) to (new state, effects). The runtime owns mailboxes, workers, clocks and
 * delivery; the logic never touches them. State changes through immer recipes.
 */
import type { RandomStream } from '../util/random';

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
  /**
   * Optional: handles one message each for several actors of this kind in the same step at once
   * (`items` in the host's order, at least two), so that their model calls run back to back and
   * their bookkeeping after them, instead of alternating actor by actor (the code between two model
   * calls runs several times slower: the model evicted it from the caches). Must give for each item
   * what `transition` gives, drawing only from that item's `ctx.random`, so that the log does not
   * depend on grouping. It returns null, before drawing anything, for messages it has no reason to
   * group: they go one by one. If it throws, the runtime forgets every item's draws and handles the
   * items one by one with `transition`, so a failure is charged to its own message.
   */
  transitionGroup?(items: ReadonlyArray<GroupItem<S>>): ReadonlyArray<readonly [S, readonly Effect[]]> | null;
  /**
   * Optional: `transitionMail` for several actors of this kind at once, each with its whole mail of
   * the step (`items` in the host's order, at least two actors, one message or more each), so that
   * work can be batched across actors (the edge-server shards of one worker: one encoder pass for
   * the devices of all of them). Must give for each item what `transition` folded over its mail
   * gives, drawing only from that item's `ctx.random`, so that the log does not depend on which
   * actors share a host. If it throws, the runtime forgets every item's draws and handles each
   * actor on its own (`transitionMail`, else message by message).
   */
  transitionMailGroup?(items: ReadonlyArray<MailGroupItem<S>>): ReadonlyArray<readonly [S, ReadonlyArray<readonly Effect[]>]>;
}

/** One actor's mail of a step in a `transitionMailGroup`: `ctx.t` is its first message's. */
export interface MailGroupItem<S = unknown> {
  readonly state: S;
  readonly mail: readonly Envelope[];
  readonly ctx: ActorContext;
}

/** One actor's message in a `transitionGroup`. */
export interface GroupItem<S = unknown> {
  readonly state: S;
  readonly message: Envelope;
  readonly ctx: ActorContext;
}

/**
 * A protocol's messages as a discriminated union on `type`: `M` maps each message type to its body
 * (one body per type name), e.g. `MessageOf<{ ping: { n: number } }>`.
 */
export type MessageOf<M> = { [T in keyof M & string]: Envelope<M[T]> & { readonly type: T } }[keyof M & string];

/** A kind's handler table: one pure transition per message type of its protocol `M`. */
export type HandlerTable<S, M> = {
  readonly [T in keyof M & string]: (
    state: S,
    message: Envelope<M[T]> & { readonly type: T },
    ctx: ActorContext,
  ) => readonly [S, readonly Effect[]];
};

/** A message whose type the receiving kind's protocol does not have. */
export class UnexpectedMessageError extends Error {
  override readonly name = 'UnexpectedMessageError';
}

/**
 * `message` as one of the protocol's messages (its type has a handler in `handlers`): the one place
 * a body's type is decided, from its message type. Throws `UnexpectedMessageError` naming the actor and the type otherwise.
 */
export function messageOf<M>(handlers: { readonly [T in keyof M & string]: unknown }, message: Envelope, self: string): MessageOf<M> {
  if (!Object.prototype.hasOwnProperty.call(handlers, message.type))
    throw new UnexpectedMessageError(`${self}: unexpected message ${message.type}`);
  return message as MessageOf<M>;
}

/** The transition of a handler table: the message's type picks its handler. */
export function fromHandlers<S, M>(handlers: HandlerTable<S, M>): ActorKind<S>['transition'] {
  return (state, message, ctx) => {
    const m = messageOf<M>(handlers, message, ctx.self);
    const handler = handlers[m.type] as (state: S, message: MessageOf<M>, ctx: ActorContext) => readonly [S, readonly Effect[]];
    return handler(state, m, ctx);
  };
}

/** A typed `send` for protocol `M`: `const toServer = senderOf<ServerMessages>(); toServer('server', 'close-round', { slot })`. */
export function senderOf<M>(): <T extends keyof M & string>(to: string, type: T, body: M[T], delayS?: number) => Effect {
  return (to, type, body, delayS) => (delayS === undefined ? { kind: 'send', to, type, body } : { kind: 'send', to, type, body, delayS });
}
