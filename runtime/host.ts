/**
 * An actor host: the actors of one worker (or of the in-process executor). It runs their
 * transitions on the mail of a step and returns the effects as data; it never orders,
 * numbers or logs anything: the runtime does (docs/architecture.md).
 */
import type { ActorContext, ActorKind, Effect, Envelope } from './actor';
import { clonesFaithfully, collectBuffers, summarizePayload } from './canonical';
import { loadPayloadDigest, type PayloadDigest } from './payloadDigest';
import type { EventRecord } from './eventLog';
import type {
  ActorLoad,
  ActorSnapshot,
  AskOut,
  HostInit,
  LoadResult,
  OutEffect,
  LoggedPayload,
  SettleBatch,
  SettleResult,
  StepBatch,
  StepResult,
} from './protocol';
import { mailByActor, Router } from './route';
import { RandomStream, type RandomState } from '../util/random';
import { loadResources, resolveActorKind, type ActorSpec } from './topology';
import { isSharedBuffer, shareTensors } from '../util/sharedTensors';

/** The stream of actor `id`: `root/actors/<id>` forked from the master seed. */
export function actorStream(seed: number, id: string): RandomStream {
  return RandomStream.fromSeed(seed).fork('actors').fork(id);
}

interface Hosted {
  readonly spec: ActorSpec;
  readonly kind: ActorKind;
  state: unknown;
  random: RandomStream;
  committed: { state: unknown; random: RandomState };
}

/** What an error thrown by a transition becomes in the log: deterministic fields only. */
export function describeError(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Thrown', message: String(err) };
}

/** A step's (or a settled pass's) result and the buffers it may move to the receiver. */
export interface LocalStepResult<R = StepResult> {
  readonly result: R;
  readonly transfer: ArrayBuffer[];
  /** A settled pass stopped at its `crashAt` step: the host is to exit, not answer. */
  readonly crashed?: boolean;
}

function copyBuffers(value: unknown, shared: ReadonlySet<ArrayBufferLike>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) {
    if (!shared.has(value.buffer)) return value;
    const v = value as unknown as { slice(): unknown };
    return typeof v.slice === 'function'
      ? v.slice()
      : new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  }
  if (value instanceof ArrayBuffer || isSharedBuffer(value)) return shared.has(value) ? value.slice(0) : value;
  if (Array.isArray(value)) return value.map((v) => copyBuffers(v, shared));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, copyBuffers(v, shared)]));
  if (value instanceof Set) return new Set([...value].map((v) => copyBuffers(v, shared)));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = copyBuffers((value as Record<string, unknown>)[k], shared);
  return out;
}

/**
 * A copy of a message body for an actor of the same host: plain data copied, typed arrays moved
 * (their buffers are not the sender's: see `step`), other objects through a structured clone.
 * The receiver never aliases the sender, as between workers.
 */
function copyLocal(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (Array.isArray(value)) return value.map(copyLocal);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) out[k] = copyLocal((value as Record<string, unknown>)[k]);
    return out;
  }
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [copyLocal(k), copyLocal(v)]));
  if (value instanceof Set) return new Set([...value].map(copyLocal));
  return structuredClone(value);
}

/** The actors of one worker. Used directly by the in-process executor and behind comlink in a worker. */
export class ActorHost {
  private readonly actors = new Map<string, Hosted>();
  private readonly dirty = new Set<string>();
  private readonly outbox = new Map<number, unknown>();
  private nextRef = 0;
  private seed = 0;
  private index = 0;
  /** Set by `init`: the log's version decides it, so there is no default. */
  private payloadDigest?: PayloadDigest;
  /** The runtime's thread summarises the payloads of the passes this host settles (`HostInit.deferSummaries`). */
  private deferSummaries = false;
  /** A pass is settling: its records reach the runtime's thread while this host computes on. */
  private settling = false;
  private placement: Readonly<Record<string, number>> = {};
  private resources: Readonly<Record<string, unknown>> = {};
  /** Buffers of resources (shared ones too): never moved out of this host. */
  private pinned = new Set<ArrayBufferLike>();
  /** The step's mail of actors that asked the driver, kept until the answer comes (`StepBatch.answers`). */
  private readonly held = new Map<string, { envelopes: Envelope[]; answers: Map<number, unknown>; asking: number }>();

  async init(init: HostInit): Promise<void> {
    this.seed = init.seed;
    this.index = init.index;
    this.placement = init.placement;
    this.payloadDigest = await loadPayloadDigest(init.payloadDigest);
    this.deferSummaries = init.deferSummaries === true;
    shareTensors(this.deferSummaries);
    this.resources = Object.freeze(await loadResources(init.resources));
    for (const r of Object.values(this.resources)) {
      collectBuffers(r, this.pinned, true);
    }
  }

  load(actors: readonly ActorLoad[]): LoadResult {
    const snapshots: Array<[string, ActorSnapshot]> = [];
    const ticking: string[] = [];
    for (const { spec, snapshot } of actors) {
      const kind = resolveActorKind(spec);
      const fresh = actorStream(this.seed, spec.id);
      let state: unknown;
      let random = fresh;
      if (snapshot) {
        state = snapshot.state;
        random = RandomStream.fromState(fresh.seed, fresh.name, snapshot.random);
      } else {
        state = kind.initialState(spec.params, this.context(spec.id, 0, 0, random));
      }
      const committed = { state, random: random.state() };
      this.actors.set(spec.id, { spec, kind, state, random, committed });
      if (!snapshot) snapshots.push([spec.id, committed]);
      if (spec.tick ?? kind.ticks ?? false) ticking.push(spec.id);
    }
    return { snapshots, ticking };
  }

  /**
   * A payload's summary for the log, digested as the log's version says; its buffers (shared ones
   * too) into `buffers`. In a pass settled by a host that defers summaries, the body itself, which
   * the runtime's thread summarises while this host computes on: posting it shares its tensors in
   * shared memory and copies the others, which costs this host less than walking and digesting them
   * (they are cold here, after the model's calls). A body that a structured clone would change for
   * its summary (a Buffer, a class instance, a function) is summarised here, as it is.
   */
  private summarize(value: unknown, buffers?: Set<ArrayBufferLike>): LoggedPayload {
    if (!this.payloadDigest) throw new Error('ActorHost: step before init (no payload digest yet)');
    // The buffers the walk met go into `buffers` either way: the summary's walk would add them too.
    if (this.deferSummaries && this.settling && clonesFaithfully(value, buffers ?? new Set())) return { body: value };
    return summarizePayload(value, this.payloadDigest, buffers);
  }

  private context(self: string, slot: number, t: number, random: RandomStream, answer?: unknown): ActorContext {
    return answer === undefined
      ? { self, slot, t, random, resources: this.resources }
      : { self, slot, t, random, resources: this.resources, answer };
  }

  step(batch: StepBatch): LocalStepResult {
    const effects: OutEffect[] = [];
    const asks: AskOut[] = [];
    const transfer = new Set<ArrayBuffer>();
    const claimed = new Set<ArrayBufferLike>();
    let handled = 0;
    let mailFallbacks = 0;
    const work: Array<[string, Envelope[], Map<number, unknown>]> = [];
    for (const [id, mail] of batch.mail) {
      work.push([
        id,
        mail.map((w): Envelope => ({
          seq: w.seq,
          slot: w.slot,
          t: w.t,
          from: w.from,
          to: w.to,
          type: w.type,
          body: w.bodyRef !== undefined ? this.take(w.bodyRef) : w.body,
        })),
        new Map(),
      ]);
      handled += mail.length;
    }
    for (const [id, answer] of batch.answers ?? []) {
      const h = this.held.get(id);
      if (!h) throw new Error(`host ${this.index}: an answer for '${id}', which asked nothing`);
      this.held.delete(id);
      h.answers.set(h.asking, answer);
      work.push([id, h.envelopes, h.answers]);
    }
    const grouped = this.handleGroups(work, batch.slot);
    const mailGroups = this.handleMailGroups(work, batch.slot);
    mailFallbacks += grouped.fallbacks + mailGroups.fallbacks;
    for (const [id, envelopes, answers] of work) {
      const a = this.hosted(id);
      this.dirty.add(id);
      let idx = 0;
      let stateBuffers: Set<ArrayBufferLike> | undefined;
      // An ask holds the actor's whole step: back to here, its effects dropped, until the answer comes.
      const start = { effects: effects.length, state: a.state, random: a.random.state() };
      /** The effects of the message handled at virtual time `t`, as the runtime's data. */
      const emit = (out: readonly Effect[], t0: number): void => {
        for (const e of out) {
          if (e.kind === 'log') {
            effects.push({ kind: 'log', from: id, idx: idx++, t: t0, to: 'log', type: e.type, payload: this.summarize(e.data) });
            continue;
          }
          if (e.kind === 'ask') throw new Error(`${id}: an ask reached emit`); // unreachable: asks are held before
          const t = t0 + (e.delayS ?? 0);
          const bufs = new Set<ArrayBufferLike>();
          const payload = this.summarize(e.body, bufs);
          let msgBody = e.body;
          if (bufs.size > 0) {
            // Move, never alias: a buffer the sender keeps, or already moved this step, is copied first (shared ones too).
            stateBuffers ??= collectBuffers(a.state, undefined, true);
            const shared = new Set<ArrayBufferLike>();
            for (const b of bufs) if (stateBuffers.has(b) || claimed.has(b) || this.pinned.has(b)) shared.add(b);
            if (shared.size > 0) msgBody = copyBuffers(msgBody, shared);
          }
          const moved = msgBody === e.body ? bufs : collectBuffers(msgBody, undefined, true); // the copies' buffers when some were copied
          for (const b of moved) claimed.add(b);
          if (this.placement[e.to] === this.index) {
            // Stays in this host: same semantics as a move between workers (a structured clone with transfer).
            const ref = this.nextRef++;
            this.outbox.set(ref, copyLocal(msgBody));
            effects.push({ kind: 'send', from: id, idx: idx++, t, to: e.to, type: e.type, bodyRef: ref, payload });
          } else {
            for (const b of moved) if (!isSharedBuffer(b)) transfer.add(b as ArrayBuffer); // shared memory is shared, never moved
            effects.push({ kind: 'send', from: id, idx: idx++, t, to: e.to, type: e.type, body: msgBody, payload });
          }
        }
      };
      const together = grouped.results.get(id);
      if (together) {
        a.state = together[0];
        emit(together[1], (envelopes[0] as Envelope).t);
        continue;
      }
      const whole =
        mailGroups.results.get(id) ??
        (envelopes.length > 1 && a.kind.transitionMail && answers.size === 0 ? this.handleMail(a, id, envelopes, batch.slot) : null);
      if (whole) {
        a.state = whole.state;
        whole.effects.forEach((out, i) => emit(out, (envelopes[i] as Envelope).t));
        continue;
      }
      if (envelopes.length > 1 && a.kind.transitionMail) mailFallbacks++;
      for (const [i, env] of envelopes.entries()) {
        const before = a.random.state();
        let next: unknown;
        let out: readonly Effect[];
        try {
          [next, out] = checkResult(
            a.kind.transition(a.state, env, this.context(id, batch.slot, env.t, a.random, answers.get(i))),
            a.kind.kind,
          );
          if (out.some((e) => e.kind === 'ask') && (out.length !== 1 || answers.has(i)))
            throw new TypeError("an 'ask' effect must be the transition's only effect, and a message is answered once");
        } catch (err) {
          a.random = RandomStream.fromState(a.random.seed, a.random.name, before);
          const fbody = { actor: id, error: describeError(err), message: { seq: env.seq, from: env.from, type: env.type } };
          effects.push({
            kind: 'failure',
            from: id,
            idx: idx++,
            t: env.t,
            to: a.spec.supervisor ?? 'runtime',
            type: 'failure',
            body: fbody,
            payload: this.summarize(fbody),
          });
          continue;
        }
        const ask = out[0]?.kind === 'ask' ? out[0] : undefined;
        if (ask) {
          effects.length = start.effects;
          a.state = start.state;
          a.random = RandomStream.fromState(a.random.seed, a.random.name, start.random);
          this.held.set(id, { envelopes, answers, asking: i });
          asks.push({ actor: id, t: env.t, question: ask.question });
          break;
        }
        a.state = next;
        stateBuffers = undefined; // the buffers the new state keeps
        emit(out, env.t);
      }
    }
    return {
      result: { effects, handled, ...(mailFallbacks > 0 ? { mailFallbacks } : {}), ...(asks.length > 0 ? { asks } : {}) },
      transfer: [...transfer],
    };
  }

  /**
   * The steps of a pass, routed here as the runtime routes them (route.ts): for a host that holds
   * every actor, so that a pass costs one round trip to the runtime instead of one per step. Stops
   * when nothing is pending, when actors ask the driver (that step comes back unrouted and uncounted,
   * as `step` returns it) or after `maxSteps`. `progress` gets each step's records as they are
   * routed (the last step's before the answer), so that the runtime chains the log while the pass goes on.
   */
  settle(batch: SettleBatch, progress?: (records: readonly EventRecord[]) => void): LocalStepResult<SettleResult> {
    if (batch.commitFirst) this.commit();
    this.settling = true;
    try {
      return this.settlePass(batch, progress);
    } finally {
      this.settling = false;
    }
  }

  private settlePass(batch: SettleBatch, progress?: (records: readonly EventRecord[]) => void): LocalStepResult<SettleResult> {
    const router = new Router(batch.slot, batch.seq, batch.tMax, (id) => Object.hasOwn(this.placement, id));
    const transfer = new Set<ArrayBuffer>();
    let mail = batch.mail;
    let steps = 0;
    let handled = 0;
    let mailFallbacks = 0;
    let sent = 0;
    let open: StepResult | undefined;
    let crashed = false;
    let furtherRouted = false;
    for (;;) {
      const step = batch.step + steps;
      const { result, transfer: moved } = this.step({ slot: batch.slot, step, mail });
      for (const b of moved) transfer.add(b);
      if (batch.crashAt === step) {
        crashed = true;
        break;
      }
      if (result.asks) {
        open = result;
        break;
      }
      steps++;
      handled += result.handled;
      mailFallbacks += result.mailFallbacks ?? 0;
      router.ingest(result.effects as OutEffect[]);
      if (router.pending.length === 0 && batch.then && !furtherRouted) {
        // The driver's further pass: its messages once everything before has settled, as the runtime routes them.
        router.inject(batch.then.t, batch.then.sends);
        furtherRouted = true;
      }
      if (router.pending.length === 0 || steps >= batch.maxSteps) break;
      if (progress) {
        progress(router.records.slice(sent));
        sent = router.records.length;
      }
      mail = mailByActor(router.take());
    }
    const settled = !open && !crashed && router.pending.length === 0;
    // The last step's records go out first too: the runtime chains them while this host serialises its answer.
    if (progress && !crashed && router.records.length > sent) {
      progress(router.records.slice(sent));
      sent = router.records.length;
    }
    return {
      result: {
        records: router.records.slice(sent),
        mail: router.mail,
        pending: router.pending,
        totals: router.totals(),
        steps,
        handled,
        mailFallbacks,
        ...(open ? { open } : {}),
        ...(settled && batch.collect ? { snapshots: this.collect() } : {}),
        ...(furtherRouted ? { furtherRouted } : {}),
      },
      transfer: [...transfer],
      ...(crashed ? { crashed } : {}),
    };
  }

  /**
   * The actor's whole mail through `transitionMail`; null (its draws forgotten) if it throws or
   * returns something malformed, and the caller then handles the mail message by message (counted
   * in the runtime's `mailFallbacks`: a kind that falls back often has a bug or mail it cannot batch).
   */
  private handleMail(a: Hosted, id: string, mail: readonly Envelope[], slot: number): MailResult | null {
    const before = a.random.state();
    try {
      // An ask falls back too: it is handled message by message.
      return checkMailResult(
        a.kind.transitionMail!(a.state, mail, this.context(id, slot, (mail[0] as Envelope).t, a.random)),
        mail,
        a.kind.kind,
        'transitionMail',
      );
    } catch {
      a.random = RandomStream.fromState(a.random.seed, a.random.name, before);
      return null;
    }
  }

  /**
   * The step's actors that have one message each (and no answer pending), through their kind's
   * `transitionGroup` where it has one and at least two of them do. A group the kind declines
   * (null) goes one by one; one that throws or returns something malformed has its draws
   * forgotten and is left to the message-by-message path (counted in `fallbacks`, as `handleMail`'s).
   */
  private handleGroups(
    work: ReadonlyArray<readonly [string, readonly Envelope[], ReadonlyMap<number, unknown>]>,
    slot: number,
  ): { results: Map<string, readonly [unknown, readonly Effect[]]>; fallbacks: number } {
    const results = new Map<string, readonly [unknown, readonly Effect[]]>();
    let fallbacks = 0;
    const groups = this.byKind(work, (kind, mail) => kind.transitionGroup !== undefined && !kind.transitionMailGroup && mail.length === 1);
    for (const [kind, group] of groups) {
      const ran = this.forgettingDraws(group, () => {
        const items = group.map(([id, [message]]) => {
          const a = this.hosted(id);
          const env = message as Envelope;
          return { state: a.state, message: env, ctx: this.context(id, slot, env.t, a.random) };
        });
        const out = kind.transitionGroup!(items);
        if (out === null) return; // declined: one by one, not a fallback
        if (!Array.isArray(out) || out.length !== items.length)
          throw new TypeError(`transitionGroup of kind '${kind.kind}' must return one [state, effects] per item`);
        const checked = out.map((r) => checkResult(r, kind.kind));
        if (checked.some(([, effects]) => effects.some((e) => e.kind === 'ask')))
          throw new TypeError('an ask is handled message by message');
        checked.forEach((r, i) => results.set((group[i] as readonly [string, readonly Envelope[]])[0], r));
      });
      if (!ran) fallbacks++;
    }
    return { results, fallbacks };
  }

  /**
   * The step's actors of kinds with a `transitionMailGroup`, each with its whole mail (and no answer
   * pending), through it where at least two of a kind have mail. One that throws or returns
   * something malformed has its draws forgotten and each actor is left to its own path (counted in
   * `fallbacks`, as `handleGroups`').
   */
  private handleMailGroups(
    work: ReadonlyArray<readonly [string, readonly Envelope[], ReadonlyMap<number, unknown>]>,
    slot: number,
  ): { results: Map<string, MailResult>; fallbacks: number } {
    const results = new Map<string, MailResult>();
    let fallbacks = 0;
    for (const [kind, group] of this.byKind(work, (k) => k.transitionMailGroup !== undefined)) {
      const ran = this.forgettingDraws(group, () => {
        const items = group.map(([id, mail]) => {
          const a = this.hosted(id);
          return { state: a.state, mail, ctx: this.context(id, slot, (mail[0] as Envelope).t, a.random) };
        });
        const out = kind.transitionMailGroup!(items);
        if (!Array.isArray(out) || out.length !== items.length)
          throw new TypeError(`transitionMailGroup of kind '${kind.kind}' must return one [state, effect lists] per item`);
        const checked = out.map((r, i) =>
          checkMailResult(r, (group[i] as readonly [string, readonly Envelope[]])[1], kind.kind, 'transitionMailGroup'),
        );
        checked.forEach((r, i) => results.set((group[i] as readonly [string, readonly Envelope[]])[0], r));
      });
      if (!ran) fallbacks++;
    }
    return { results, fallbacks };
  }

  /** The step's actors with mail (and no answer pending) whose kind `accepts` it, by kind, where at least two of a kind are. */
  private byKind(
    work: ReadonlyArray<readonly [string, readonly Envelope[], ReadonlyMap<number, unknown>]>,
    accepts: (kind: ActorKind, mail: readonly Envelope[]) => boolean,
  ): Map<ActorKind, Array<readonly [string, readonly Envelope[]]>> {
    const byKind = new Map<ActorKind, Array<readonly [string, readonly Envelope[]]>>();
    for (const [id, mail, answers] of work) {
      const kind = this.actors.get(id)?.kind;
      if (!kind || mail.length === 0 || answers.size > 0 || !accepts(kind, mail)) continue;
      const group = byKind.get(kind);
      if (group) group.push([id, mail]);
      else byKind.set(kind, [[id, mail]]);
    }
    for (const [kind, group] of byKind) if (group.length < 2) byKind.delete(kind);
    return byKind;
  }

  /** Runs `fn` for the actors of `group`; if it throws, their draws are forgotten and the answer is false. */
  private forgettingDraws(group: ReadonlyArray<readonly [string, unknown]>, fn: () => void): boolean {
    const actors = group.map(([id]) => this.hosted(id));
    const before = actors.map((a) => a.random.state());
    try {
      fn();
      return true;
    } catch {
      actors.forEach((a, i) => (a.random = RandomStream.fromState(a.random.seed, a.random.name, before[i] as RandomState)));
      return false;
    }
  }

  private hosted(id: string): Hosted {
    const a = this.actors.get(id);
    if (!a) throw new Error(`host ${this.index} has no actor '${id}'`);
    return a;
  }

  private take(ref: number): unknown {
    if (!this.outbox.has(ref)) throw new Error(`host ${this.index}: no held body ${ref}`);
    const body = this.outbox.get(ref);
    this.outbox.delete(ref);
    return body;
  }

  collect(): Array<[string, ActorSnapshot]> {
    const out: Array<[string, ActorSnapshot]> = [];
    for (const id of [...this.dirty].sort()) {
      const a = this.actors.get(id)!;
      out.push([id, { state: a.state, random: a.random.state() }]);
    }
    return out;
  }

  commit(): void {
    for (const id of this.dirty) {
      const a = this.actors.get(id)!;
      a.committed = { state: a.state, random: a.random.state() };
    }
    this.dirty.clear();
    this.outbox.clear();
    this.held.clear();
  }

  rollback(): void {
    for (const id of this.dirty) {
      const a = this.actors.get(id)!;
      a.state = a.committed.state;
      a.random = RandomStream.fromState(a.random.seed, a.random.name, a.committed.random);
    }
    this.dirty.clear();
    this.outbox.clear();
    this.held.clear();
  }

  snapshot(ids?: readonly string[]): Array<[string, ActorSnapshot]> {
    const list = ids ?? [...this.actors.keys()].sort();
    return list.map((id) => {
      const a = this.hosted(id);
      return [id, { state: a.state, random: a.random.state() }];
    });
  }

  restore(snapshots: ReadonlyArray<readonly [string, ActorSnapshot]>): void {
    for (const [id, s] of snapshots) {
      const a = this.hosted(id);
      a.state = s.state;
      a.random = RandomStream.fromState(a.random.seed, a.random.name, s.random);
      a.committed = { state: s.state, random: s.random };
    }
  }
}

/** A transition's `[state, effects]`, checked (TypeError or RangeError naming what is wrong). */
/** An actor's whole mail handled at once: its new state and each message's effects. */
interface MailResult {
  readonly state: unknown;
  readonly effects: ReadonlyArray<readonly Effect[]>;
}

/** What `transitionMail` (or an item of `transitionMailGroup`, `fn`) returned for `mail`, checked: asks are handled message by message. */
function checkMailResult(r: unknown, mail: readonly Envelope[], kind: string, fn: string): MailResult {
  if (!Array.isArray(r) || r.length !== 2 || !Array.isArray(r[1]) || r[1].length !== mail.length)
    throw new TypeError(`${fn} of kind '${kind}' must return [state, one effect list per message]`);
  const effects = (r[1] as unknown[]).map((out) => checkResult([r[0], out], kind)[1]);
  if (effects.some((out) => out.some((e) => e.kind === 'ask'))) throw new TypeError('an ask is handled message by message');
  return { state: r[0], effects };
}

function checkResult(r: unknown, kind: string): readonly [unknown, readonly Effect[]] {
  if (!Array.isArray(r) || r.length !== 2 || !Array.isArray(r[1]))
    throw new TypeError(`transition of kind '${kind}' must return [state, effects]`);
  for (const e of r[1] as Effect[]) checkEffect(e);
  return r as [unknown, readonly Effect[]];
}

function checkEffect(e: Effect): void {
  if (!e || typeof e !== 'object') throw new TypeError('an effect must be an object');
  if (e.kind === 'send') {
    if (typeof e.to !== 'string' || e.to.length === 0) throw new TypeError("a 'send' effect needs a string 'to'");
    if (typeof e.type !== 'string') throw new TypeError("a 'send' effect needs a string 'type'");
    if (e.delayS !== undefined && !(Number.isFinite(e.delayS) && e.delayS >= 0))
      throw new RangeError(`delayS must be a finite number >= 0, got ${e.delayS}`);
  } else if (e.kind === 'log') {
    if (typeof e.type !== 'string') throw new TypeError("a 'log' effect needs a string 'type'");
  } else if (e.kind === 'ask') {
    if (e.question === undefined) throw new TypeError("an 'ask' effect needs a 'question'");
  } else throw new TypeError(`unknown effect kind '${(e as { kind?: unknown }).kind}'`);
}
