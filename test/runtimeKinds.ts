/**
 * Actor kinds used by the runtime tests (loaded by module path in worker threads, so this
 * file is required by the workers through tsx). Not a test file itself.
 */
import * as path from 'node:path';
import type { ActorContext, ActorKind, Effect, Envelope } from '../runtime/actor';
import { logEvent, sendTo, withImmer } from '../runtime/immer';

/** This module, extensionless: resolves to the .ts source under jest and tsx. */
export const KINDS = path.join(__dirname, 'runtimeKinds');

interface GossipState {
  readonly received: number;
  readonly sum: number;
  readonly pongs: number;
}

/** On each slot tick, pings one peer picked at random; answers pings with a delayed pong. */
export const gossip: ActorKind<GossipState, { peers: string[] }> = {
  kind: 'gossip',
  ticks: true,
  initialState: (_params, ctx) => ({ received: 0, sum: 0, pongs: ctx.random.int(3) }),
  transition: withImmer<GossipState>((s, m, ctx) => {
    const peers = (ctx.resources.peers as ((self: string) => string[]) | undefined)?.(ctx.self) ?? [];
    if (m.type === 'slot') {
      const to = peers[ctx.random.int(peers.length)]!;
      const n = ctx.random.int(1000);
      return [sendTo(to, 'ping', { n }, ctx.random.int(4) * 0.001)];
    }
    if (m.type === 'ping') {
      s.received += 1;
      s.sum += (m.body as { n: number }).n;
      return [sendTo(m.from, 'pong', { sum: s.sum })];
    }
    if (m.type === 'pong') s.pongs += 1;
    return [];
  }),
};

/** A resource: the ring of peers of each gossip actor (ids g0..g{n-1}), loaded once per worker. */
export function ringPeers(n: number): (self: string) => string[] {
  return (self) => {
    const i = Number(self.slice(1));
    return [`g${(i + 1) % n}`, `g${(i + n - 1) % n}`, `g${(i + 7) % n}`];
  };
}

/** Counts; throws on a message of type 'boom'; reports its count to the driver on 'report'. */
export const flaky: ActorKind<{ count: number; draws: number[] }> = {
  kind: 'flaky',
  initialState: () => ({ count: 0, draws: [] }),
  transition: withImmer((s, m, ctx) => {
    s.count += 1;
    s.draws.push(ctx.random.int(100)); // a draw the failure must undo
    if (m.type === 'boom') throw new Error(`boom at count ${s.count}`);
    if (m.type === 'report') return [sendTo('driver', 'count', { count: s.count, draws: s.draws })];
    return [];
  }),
};

/** Supervises: forwards failures to the driver and logs a decision. */
export const watcher: ActorKind<{ seen: number }> = {
  kind: 'watcher',
  initialState: () => ({ seen: 0 }),
  transition: withImmer((s, m) => {
    if (m.type !== 'failure') return [];
    s.seen += 1;
    return [
      logEvent('restart-decision', { actor: (m.body as { actor: string }).actor, seen: s.seen }),
      sendTo('driver', 'saw-failure', m.body),
    ];
  }),
};

/** Tensor relay: 'tensor' messages carry { x: Float32Array }; forwards to params.next (or to the driver), keeping a copy when params.keep. */
export const relay: ActorKind<{ kept?: Float32Array; hops: number }, { next?: string; keep?: boolean }> = {
  kind: 'relay',
  initialState: () => ({ hops: 0 }),
  transition: (s, m, ctx) => {
    const { x, hops } = m.body as { x: Float32Array; hops: number };
    const next = (ctx.resources.relayNext as Record<string, string | undefined> | undefined)?.[ctx.self] ?? 'driver';
    const keep = ctx.self.endsWith('keep');
    const state = keep ? { kept: x, hops: s.hops + 1 } : { hops: s.hops + 1 };
    if (hops <= 0) return [state, [sendTo('driver', 'tensor', { x, hops })]];
    return [state, [sendTo(next, 'tensor', { x, hops: hops - 1 })]];
  },
};

/** Resource for the relay: who forwards to whom. */
export function relayRing(ids: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  ids.forEach((id, i) => (out[id] = ids[(i + 1) % ids.length]!));
  return out;
}

interface TallyState {
  readonly total: number;
  readonly handled: number;
  readonly batches: number;
}

/** Adds up `{ n }` messages and answers each with the running total; 'boom' (n < 0) throws. */
function tallyOne(s: TallyState, n: number, from: string): [TallyState, Effect[]] {
  if (n < 0) throw new Error(`negative ${n}`);
  const total = s.total + n;
  return [{ ...s, total, handled: s.handled + 1 }, [{ kind: 'send', to: from, type: 'total', body: { total }, delayS: n * 0.001 }]];
}

/** Handles its mail message by message. */
export const tally: ActorKind<TallyState> = {
  kind: 'tally',
  initialState: () => ({ total: 0, handled: 0, batches: 0 }),
  transition: (s, m) => tallyOne(s, (m.body as { n: number }).n, m.from),
};

/** The same logic over a whole step's mail at once (`transitionMail`), counting its batches; the effects must come out the same. */
export const tallyMail: ActorKind<TallyState> = {
  ...tally,
  kind: 'tally-mail',
  transitionMail(s, mail) {
    let state: TallyState = { ...s, batches: s.batches + 1 };
    const effects = mail.map((m) => {
      const [next, out] = tallyOne(state, (m.body as { n: number }).n, m.from);
      state = next;
      return out;
    });
    return [state, effects] as const;
  },
};

/** On each tick, sends `{ n }` to every tally actor of the resource `tallies`. */
export const feeder: ActorKind<null> = {
  kind: 'feeder',
  ticks: true,
  initialState: () => null,
  transition: (s, m, ctx) => {
    if (m.type !== 'slot') return [s, []];
    const targets = (ctx.resources.tallies as string[] | undefined) ?? [];
    const n = m.slot === 3 && ctx.self === 'f1' ? -1 : ctx.random.int(50);
    return [s, targets.map((to): Effect => ({ kind: 'send', to, type: 'add', body: { n }, delayS: ctx.random.int(5) * 0.001 }))];
  },
};

/** A resource: the ids of the tally actors t0..t{n-1}. */
export function tallyIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `t${i}`);
}

interface DrawerState {
  readonly total: number;
  /** Slots handled in a group (transitionGroup) rather than alone. */
  readonly grouped: number;
}

/** On each tick, draws twice from its stream, adds the draws, logs them and tells its peer 'd0'; throws at slot 3 in 'd1'. */
function drawOne(s: DrawerState, slot: number, ctx: ActorContext): readonly [DrawerState, readonly Effect[]] {
  if (slot === 3 && ctx.self === 'd1') throw new RangeError('d1 cannot draw in slot 3');
  const a = ctx.random.int(100);
  const b = ctx.random.int(100);
  return [
    { ...s, total: s.total + a + b },
    [
      { kind: 'log', type: 'drew', data: { a, b } },
      { kind: 'send', to: 'sink', type: 'drawn', body: { n: a + b, w: new Float32Array([a, b]) }, delayS: b * 0.001 },
    ],
  ];
}

export const drawer: ActorKind<DrawerState> = {
  kind: 'drawer',
  ticks: true,
  initialState: () => ({ total: 0, grouped: 0 }),
  transition: (s, m, ctx) => drawOne(s, m.slot, ctx),
};

/**
 * The same logic for several drawers at once (`transitionGroup`): all first draws, then all second
 * ones, then the bookkeeping; slot 0 it declines (one by one).
 */
export const drawerGroup: ActorKind<DrawerState> = {
  ...drawer,
  kind: 'drawer-group',
  transitionGroup(items) {
    if (items.some(({ message }) => message.slot === 0)) return null;
    const firsts = items.map(({ message, ctx }) => {
      if (message.slot === 3 && ctx.self === 'd1') throw new RangeError('d1 cannot draw in slot 3');
      return ctx.random.int(100);
    });
    const seconds = items.map(({ ctx }) => ctx.random.int(100));
    return items.map(({ state }, i): readonly [DrawerState, readonly Effect[]] => {
      const a = firsts[i]!;
      const b = seconds[i]!;
      return [
        { total: state.total + a + b, grouped: state.grouped + 1 },
        [
          { kind: 'log', type: 'drew', data: { a, b } },
          { kind: 'send', to: 'sink', type: 'drawn', body: { n: a + b, w: new Float32Array([a, b]) }, delayS: b * 0.001 },
        ],
      ];
    });
  },
};

/** Receives the drawers' sums. */
export const sink: ActorKind<{ total: number }> = {
  kind: 'sink',
  initialState: () => ({ total: 0 }),
  transition: (s, m) => [{ total: s.total + (m.body as { n: number }).n }, []],
};

/** On each tick, sends one or two numbers to bins b0..b2 picked at random (a bin gets several messages in a step). */
export const scatterer: ActorKind<{ sent: number }> = {
  kind: 'scatterer',
  ticks: true,
  initialState: () => ({ sent: 0 }),
  transition: (s, _m, ctx) => {
    const count = 1 + ctx.random.int(2);
    const sends = Array.from({ length: count }, (): Effect => {
      const n = ctx.random.int(100);
      return { kind: 'send', to: `b${ctx.random.int(3)}`, type: 'put', body: { n, w: new Float32Array([n]) } };
    });
    return [{ sent: s.sent + count }, sends];
  },
};

interface BinState {
  readonly total: number;
  /** Messages handled in a mail group (transitionMailGroup) rather than alone. */
  readonly grouped: number;
}

/** Adds each number it gets and one draw of its own, logs the draw and tells the sink; 'b1' throws in slot 3. */
function binOne(s: BinState, m: Envelope, ctx: ActorContext): readonly [BinState, readonly Effect[]] {
  if (m.slot === 3 && ctx.self === 'b1') throw new RangeError('b1 cannot add in slot 3');
  const d = ctx.random.int(10);
  const n = (m.body as { n: number }).n + d;
  return [
    { ...s, total: s.total + n },
    [
      { kind: 'log', type: 'binned', data: { d } },
      { kind: 'send', to: 'sink', type: 'binned', body: { n }, delayS: d * 0.001 },
    ],
  ];
}

export const bin: ActorKind<BinState> = {
  kind: 'bin',
  initialState: () => ({ total: 0, grouped: 0 }),
  transition: binOne,
};

/** The same logic for the mail of several bins at once (`transitionMailGroup`): all the draws first, then the bookkeeping. */
export const binGroup: ActorKind<BinState> = {
  ...bin,
  kind: 'bin-group',
  transitionMailGroup(items) {
    const draws = items.map(({ mail, ctx }) =>
      mail.map((m) => {
        if (m.slot === 3 && ctx.self === 'b1') throw new RangeError('b1 cannot add in slot 3');
        return ctx.random.int(10);
      }),
    );
    return items.map(({ state, mail }, i) => {
      let s = state;
      const effects = mail.map((m, j): readonly Effect[] => {
        const d = draws[i]![j]!;
        const n = (m.body as { n: number }).n + d;
        s = { total: s.total + n, grouped: s.grouped + 1 };
        return [
          { kind: 'log', type: 'binned', data: { d } },
          { kind: 'send', to: 'sink', type: 'binned', body: { n }, delayS: d * 0.001 },
        ];
      });
      return [s, effects] as const;
    });
  },
};
