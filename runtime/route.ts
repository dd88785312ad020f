/**
 * The runtime's order (runtime.ts): a step's effects, sorted by (t, sender, the sender's effect
 * index), numbered with the global `seq`, become the log's records and are routed: to an actor
 * (its mail of the next step), to the driver (the slot's mail), or nowhere (a dead letter). One
 * home for that order: the runtime routes with it step by step across its hosts, and a host that
 * holds every actor routes with it the steps of a whole pass (`ActorHost.settle`), so that both
 * give the same log.
 */
import type { Envelope } from './actor';
import type { EventKind, EventRecord } from './eventLog';
import type { FurtherPass, LoggedPayload, OutEffect, RouteTotals, WireEnvelope } from './protocol';

export const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const cmpEnvelope = (a: WireEnvelope, b: WireEnvelope): number => a.t - b.t || cmpStr(a.from, b.from) || a.seq - b.seq;
const cmpEffect = (a: OutEffect, b: OutEffect): number => a.t - b.t || cmpStr(a.from, b.from) || a.idx - b.idx;

/** One actor's mail of a step: its envelopes in (t, from, seq) order. */
export type ActorMail = readonly [string, WireEnvelope[]];

/** Groups envelopes by destination: destinations in id order, each one's mail in (t, from, seq) order. */
export function mailByActor(envelopes: readonly WireEnvelope[]): ActorMail[] {
  const by = new Map<string, WireEnvelope[]>();
  for (const e of envelopes) {
    const list = by.get(e.to);
    if (list) list.push(e);
    else by.set(e.to, [e]);
  }
  return [...by.entries()].sort((a, b) => cmpStr(a[0], b[0])).map(([id, l]) => [id, l.sort(cmpEnvelope)] as const);
}

/** The records, mail and pending envelopes of one pass of a slot, in the runtime's order. */
export class Router {
  readonly records: EventRecord[] = [];
  readonly mail: Envelope[] = [];
  /** Envelopes for the next step. */
  pending: WireEnvelope[] = [];
  seq: number;
  tMax: number;
  failures = 0;
  deadLetters = 0;
  local = 0;
  cross = 0;

  constructor(
    readonly slot: number,
    seq: number,
    tMax: number,
    /** Whether an actor of this id exists (messages to others are dead letters). */
    private readonly isActor: (id: string) => boolean,
  ) {
    this.seq = seq;
    this.tMax = tMax;
  }

  /** Records `w` and sends it on: to the next step, to the driver's mail, or nowhere. */
  route(w: WireEnvelope, payload: LoggedPayload, failure: boolean): void {
    if (w.t > this.tMax) this.tMax = w.t;
    let kind: EventKind = failure ? 'failure' : 'msg';
    if (w.to === 'driver') this.mail.push({ seq: w.seq, slot: this.slot, t: w.t, from: w.from, to: w.to, type: w.type, body: w.body });
    else if (this.isActor(w.to)) {
      this.pending.push(w);
      if (w.bodyRef !== undefined) this.local++;
      else this.cross++;
    } else if (!(failure && w.to === 'runtime')) {
      kind = 'dead-letter';
      this.deadLetters++;
    }
    this.records.push({ seq: w.seq, slot: this.slot, t: w.t, kind, from: w.from, to: w.to, type: w.type, payload });
  }

  /**
   * The driver's messages of a pass (already in routing order), numbered, logged and routed; the
   * latest time is at least `startT`, the pass's start, as when a pass begins. Their payloads are
   * summaries, or (in the runtime's thread) bodies left to the log's draft.
   */
  inject(startT: number, sends: ReadonlyArray<Omit<FurtherPass['sends'][number], 'payload'> & { readonly payload: LoggedPayload }>): void {
    if (startT > this.tMax) this.tMax = startT;
    for (const m of sends)
      this.route({ seq: this.seq++, slot: this.slot, t: m.t, from: m.from, to: m.to, type: m.type, body: m.body }, m.payload, false);
  }

  /** A step's effects (of every host together): ordered, numbered, logged and routed. Sorts `effects` in place. */
  ingest(effects: OutEffect[]): void {
    effects.sort(cmpEffect);
    for (const e of effects) {
      const seq = this.seq++;
      if (e.kind === 'log') {
        this.records.push({ seq, slot: this.slot, t: e.t, kind: 'log', from: e.from, to: e.to, type: e.type, payload: e.payload });
        continue;
      }
      if (e.kind === 'failure') this.failures++;
      const w: WireEnvelope =
        e.bodyRef !== undefined
          ? { seq, slot: this.slot, t: e.t, from: e.from, to: e.to, type: e.type, bodyRef: e.bodyRef }
          : { seq, slot: this.slot, t: e.t, from: e.from, to: e.to, type: e.type, body: e.body };
      this.route(w, e.payload, e.kind === 'failure');
    }
  }

  /** The pending envelopes, handed over (the router's list starts empty again). */
  take(): WireEnvelope[] {
    const now = this.pending;
    this.pending = [];
    return now;
  }

  totals(): RouteTotals {
    return {
      seq: this.seq,
      tMax: this.tMax,
      failures: this.failures,
      deadLetters: this.deadLetters,
      local: this.local,
      cross: this.cross,
    };
  }

  /** Takes over what another router (a host's, for a settled pass) routed after this one's state. */
  absorb(totals: RouteTotals, mail: readonly Envelope[], pending: readonly WireEnvelope[]): void {
    this.seq = totals.seq;
    if (totals.tMax > this.tMax) this.tMax = totals.tMax;
    this.failures += totals.failures;
    this.deadLetters += totals.deadLetters;
    this.local += totals.local;
    this.cross += totals.cross;
    for (const m of mail) this.mail.push(m);
    for (const p of pending) this.pending.push(p);
  }
}
