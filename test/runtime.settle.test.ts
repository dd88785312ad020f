/**
 * A host that holds every actor settles a pass itself (ActorHost.settle, runtime/route.ts): the log,
 * the driver's mail and the counters must be those of the runtime's own step-by-step loop, in this
 * thread and behind comlink (where the records come back as progress messages before the answer).
 */
import { createRuntime, registerActorKind, SlotDidNotSettleError, type ActorSpec, type Runtime, type SlotResult } from '../runtime/system';
import type { ActorKind } from '../runtime/actor';
import { logEvent, sendTo, withImmer } from '../runtime/immer';
import { ChannelTransport, InlineTransport, WorkerDiedError, type HostEndpoint, type Transport } from '../runtime/transport';
import type { SettleBatch } from '../runtime/protocol';
import type { EventRecord } from '../runtime/eventLog';

/** Passes a counter down a chain; on its last hop reports a tensor to the driver; a few messages go astray or fail. */
const relay: ActorKind<{ hops: number }> = {
  kind: 'settle-relay',
  ticks: true,
  initialState: () => ({ hops: 0 }),
  transition: withImmer((s, m, ctx) => {
    s.hops += 1;
    if (m.type === 'boom') throw new Error('boom');
    const left = m.type === 'slot' ? 4 + ctx.random.int(3) : (m.body as { left: number }).left;
    if (left === 0) return [sendTo('driver', 'done', { values: new Float32Array([ctx.slot, s.hops, ctx.t]) })];
    const next = `r${(Number(ctx.self.slice(1)) + 1) % 3}`;
    return [
      logEvent('hop', { left }),
      sendTo(next, 'hop', { left: left - 1, values: new Float32Array(4).fill(left) }, 0.25 * ctx.random.int(3)),
      ...(left === 2 ? [sendTo('nobody', 'lost', { left })] : []),
      ...(left === 1 ? [sendTo('constructor', 'lost', { left })] : []), // a name every object inherits: still no actor
      ...(left === 3 && ctx.self === 'r1' ? [sendTo('r2', 'boom', {})] : []),
    ];
  }),
};
/** Receives the failures of the relays it supervises. */
const warden: ActorKind<{ seen: number }> = {
  kind: 'settle-warden',
  initialState: () => ({ seen: 0 }),
  transition: withImmer((s) => {
    s.seen += 1;
    return [];
  }),
};
/** Messages itself forever. */
const loop: ActorKind<{ n: number }> = {
  kind: 'settle-loop',
  initialState: () => ({ n: 0 }),
  transition: withImmer((s, m) => {
    s.n += 1;
    return [sendTo(m.to, 'again', {})];
  }),
};
/** A chain like the relays' that asks the driver how far to go at its second hop: asked in the middle of a pass. */
const asker: ActorKind<{ hops: number }> = {
  kind: 'settle-asker',
  ticks: true,
  initialState: () => ({ hops: 0 }),
  transition: (s, m, ctx) => {
    const left = m.type === 'slot' ? 3 : (m.body as { left: number }).left;
    if (left === 2 && ctx.answer === undefined) return [s, [{ kind: 'ask', question: { left, self: ctx.self } }]];
    const next = (left === 2 ? (ctx.answer as number) : left) - 1;
    if (left === 0) return [{ hops: s.hops + 1 }, [sendTo('driver', 'done', { values: new Float32Array([ctx.slot, s.hops]) })]];
    return [{ hops: s.hops + 1 }, [logEvent('hop', { left }), sendTo(`a${(Number(ctx.self.slice(1)) + 1) % 2}`, 'hop', { left: next })]];
  },
};
registerActorKind(asker);
registerActorKind(relay);
registerActorKind(warden);
registerActorKind(loop);

const TOPOLOGY: ActorSpec[] = [
  ...[0, 1, 2].map((i) => ({ id: `r${i}`, kind: 'settle-relay', supervisor: 'warden' })),
  { id: 'warden', kind: 'settle-warden' },
];

/** A transport whose hosts cannot settle: the runtime steps them one step at a time. */
function stepped(inner: Transport): Transport {
  return {
    name: `${inner.name}-stepped`,
    canFail: inner.canFail,
    open: async (i) => {
      const ep = await inner.open(i);
      return new Proxy(ep, { get: (target, key) => (key === 'settle' ? undefined : Reflect.get(target, key, target)) });
    },
    close: () => inner.close(),
  };
}

/** `inner` with each endpoint's properties read through `get` (a Proxy's). */
function wrapEndpoints(inner: Transport, get: (target: HostEndpoint, key: string | symbol) => unknown): Transport {
  return {
    name: `${inner.name}-wrapped`,
    canFail: inner.canFail,
    open: async (i) => new Proxy(await inner.open(i), { get }),
    close: () => inner.close(),
  };
}

/** The relays' topology driven by `drive`, which notes the mail of each call: the log, the mail, the counters and the states. */
async function runRelays(
  transport: Transport,
  drive: (rt: Runtime, note: (r: SlotResult) => void) => Promise<void>,
  prepare?: (rt: Runtime) => void,
  hosts = 1,
) {
  const rt = await createRuntime({ seed: 11, topology: TOPOLOGY, transport, workers: hosts, log: { keepLines: true } });
  prepare?.(rt);
  const mail: string[] = [];
  const note = (r: SlotResult) => {
    for (const m of r.mail) mail.push(`${m.seq} ${m.from} ${m.type} ${[...(m.body as { values: Float32Array }).values].join(',')}`);
  };
  try {
    await drive(rt, note);
    const stats = rt.stats();
    return {
      lines: rt.log.lines(),
      mail,
      stats: { ...stats, transport: '', recoveries: 0 },
      snapshot: await rt.snapshot(),
      recoveries: stats.recoveries,
    };
  } finally {
    await rt.close();
  }
}

/** Two askers (a0, a1) that the driver answers with `answer`, the log's lines kept. */
function askers(transport: Transport, answer: NonNullable<Parameters<typeof createRuntime>[0]['answer']>): Promise<Runtime> {
  return createRuntime({
    seed: 5,
    topology: [0, 1].map((i) => ({ id: `a${i}`, kind: 'settle-asker' })),
    transport,
    log: { keepLines: true },
    answer,
  });
}

/** Three slots, each then a further pass of it (no ticks: the driver's message only). */
function run(transport: Transport, prepare?: (rt: Runtime) => void) {
  return runRelays(
    transport,
    async (rt, note) => {
      for (let slot = 0; slot < 3; slot++) {
        rt.send('r0', 'hop', { left: 3 });
        for (const pass of [false, true]) {
          if (pass) rt.send('r2', 'hop', { left: 1 });
          note(await rt.runSlot(slot, { pass }));
        }
      }
    },
    prepare,
  );
}

/** Each slot in two passes: separately (the driver sends between the calls), or the second as the first call's `then`. */
function runTwoPasses(transport: Transport, merged: boolean, prepare?: (rt: Runtime) => void, hosts = 1) {
  return runRelays(
    transport,
    async (rt, note) => {
      for (let slot = 0; slot < 3; slot++) {
        rt.send('r0', 'hop', { left: 3 }, 10 * slot);
        const second = { t: 10 * slot + 4, sends: [{ to: 'r2', type: 'hop', body: { left: 2 } }] };
        if (merged) note(await rt.runSlot(slot, { t: 10 * slot, then: second }));
        else {
          note(await rt.runSlot(slot, { t: 10 * slot }));
          rt.send('r2', 'hop', { left: 2 }, second.t);
          note(await rt.runSlot(slot, { t: second.t, pass: true }));
        }
      }
    },
    prepare,
    hosts,
  );
}

describe("runSlot's then: a further pass in the same call", () => {
  it('gives the log, mail, counters and states of two calls, settled or stepped, in this thread and behind comlink; a host dying in the second pass reruns both', async () => {
    // Prepare / Execute
    const reference = await runTwoPasses(new InlineTransport(), false);
    const merged = [
      await runTwoPasses(new InlineTransport(), true),
      await runTwoPasses(stepped(new InlineTransport()), true),
      await runTwoPasses(new ChannelTransport(), true),
      await runTwoPasses(stepped(new ChannelTransport()), true),
    ];
    // Step 9 of slot 1 is in its second pass (its first takes steps 0 to 6); step 1 of slot 2 in its first.
    const killed = await runTwoPasses(new ChannelTransport(), true, (rt) => {
      rt.injectWorkerCrash(0, { slot: 1, step: 9 });
      rt.injectWorkerCrash(0, { slot: 2, step: 1 });
    });
    const twoHosts = await runTwoPasses(new ChannelTransport(), true, undefined, 2);
    // Assert: the second pass really ran (its hop reached the driver), and every run agrees on everything.
    expect(reference.mail.filter((m) => m.includes('r0 done') || m.includes('r1 done') || m.includes('r2 done')).length).toBeGreaterThan(3);
    expect(reference.stats.steps).toBeGreaterThan(3 * 9);
    for (const other of [...merged, killed, twoHosts]) {
      expect(other.lines).toEqual(reference.lines);
      expect(other.mail).toEqual(reference.mail);
      expect(other.snapshot).toEqual(reference.snapshot);
    }
    for (const other of merged) expect(other.stats).toEqual(reference.stats);
    expect(killed.recoveries).toBe(2);
    // Two hosts (the step-by-step loop across them): the same steps and messages, split over both.
    expect([twoHosts.stats.steps, twoHosts.stats.messages]).toEqual([reference.stats.steps, reference.stats.messages]);
    expect(twoHosts.stats.handledPerHost.every((n) => n > 0)).toBe(true);
  });

  it("names a then's bad time or unknown actor before anything runs", async () => {
    const rt = await createRuntime({ seed: 1, topology: TOPOLOGY, log: { keepLines: true } });
    try {
      await expect(rt.runSlot(0, { then: { t: -1, sends: [] } })).rejects.toThrow('runSlot: then.t must be a finite number >= 0, got -1');
      await expect(rt.runSlot(0, { then: { t: 1, sends: [{ to: 'nobody', type: 'hop' }] } })).rejects.toThrow("no actor 'nobody'");
      expect(rt.slot).toBe(-1);
      expect(rt.log.lines()).toHaveLength(1);
    } finally {
      await rt.close();
    }
  });
});

/** A transport whose first `dying` hosts opened die while loading their actors (before slot 0). */
function dyingAtStart(inner: Transport, dying: number): Transport & { opened: number } {
  const t = {
    name: `${inner.name}-dying-at-start`,
    canFail: inner.canFail,
    opened: 0,
    open: async (i: number): Promise<HostEndpoint> => {
      const ep = await inner.open(i);
      if (t.opened++ >= dying) return ep;
      let alive = true;
      return new Proxy(ep, {
        get: (target, key) =>
          key === 'load'
            ? () => {
                alive = false;
                return Promise.reject(new WorkerDiedError(i, { cause: new Error('died while loading') }));
              }
            : key === 'alive'
              ? alive
              : Reflect.get(target, key, target),
      });
    },
    close: () => inner.close(),
  };
  return t;
}

describe('a host lost while starting', () => {
  it('is started again on a fresh host: the same log, the recovery counted; one that keeps dying fails the run', async () => {
    const reference = await run(new ChannelTransport());
    // maxRecoveriesPerSlot (default 3) more tries: three deaths are survived, a fourth is the run's error.
    const thrice = dyingAtStart(new ChannelTransport(), 3);
    const survived = await run(thrice);
    expect(thrice.opened).toBe(4);
    expect(survived.recoveries).toBe(3);
    expect(survived.lines).toEqual(reference.lines);
    expect(survived.snapshot).toEqual(reference.snapshot);
    await expect(createRuntime({ seed: 11, topology: TOPOLOGY, transport: dyingAtStart(new ChannelTransport(), 4) })).rejects.toThrow(
      'worker 0 died: died while loading',
    );
  });
});

/** A transport whose host 0 fails its `nth` commit (from 1): it dies then, or the commit throws an error that is not a death. */
function faultyCommit(inner: Transport, nth: number, how: 'dies' | 'throws'): Transport {
  let commits = 0;
  return {
    name: `${inner.name}-faulty-commit`,
    canFail: inner.canFail,
    open: async (i) => {
      const ep = await inner.open(i);
      if (i !== 0) return ep;
      let alive = true;
      return new Proxy(ep, {
        get: (target, key) => {
          if (key === 'alive') return alive && target.alive;
          if (key !== 'commit') return Reflect.get(target, key, target);
          return async () => {
            if (++commits !== nth) return target.commit();
            if (how === 'throws') throw new Error('the disk is full');
            alive = false;
            throw new WorkerDiedError(i, { cause: new Error('died while committing') });
          };
        },
      });
    },
    close: () => inner.close(),
  };
}

describe("the hosts' commit, which runSlot does not wait for", () => {
  it("a host lost while committing is restarted from the slot's snapshots: the same log; a commit error is the next call's error", async () => {
    // Prepare / Execute (stepped hosts: a settling one commits with its next pass): a death at the hosts' 4th commit (slot 1's second pass), and an error at the 2nd.
    const reference = await run(new ChannelTransport());
    const died = await run(faultyCommit(stepped(new ChannelTransport()), 4, 'dies'));
    const rt = await createRuntime({ seed: 11, topology: TOPOLOGY, transport: faultyCommit(stepped(new ChannelTransport()), 2, 'throws') });
    await rt.runSlot(0);
    const pass = rt.runSlot(0, { pass: true }); // returns before its commit: the error comes with the next call
    // Assert
    expect(died.recoveries).toBe(1);
    expect(died.lines).toEqual(reference.lines);
    expect(died.mail).toEqual(reference.mail);
    expect(died.snapshot).toEqual(reference.snapshot);
    await expect(pass).resolves.toMatchObject({ slot: 0 });
    await expect(rt.runSlot(1)).rejects.toThrow('slot 0: cannot commit');
    await expect(rt.snapshot()).rejects.toThrow('slot 0: cannot commit');
    await expect(rt.close()).rejects.toThrow('slot 0: cannot commit');
  });
});

describe('the commit of a slot settled by its one host', () => {
  it('rides on the next pass (no round trip of its own); a failed pass still rolls back to it, and a snapshot or close sends it', async () => {
    // Prepare: count the separate commits and the passes that carry one; a driver answer that fails once, in slot 1.
    let commits = 0;
    const carried: boolean[] = [];
    const counting = (inner: Transport) =>
      wrapEndpoints(inner, (target, key) => {
        if (key === 'commit') return () => (commits++, target.commit());
        if (key === 'settle' && target.settle)
          return (batch: SettleBatch, buffers: ArrayBuffer[], progress: (r: readonly EventRecord[]) => void) => {
            carried.push(batch.commitFirst === true);
            return target.settle!(batch, buffers, progress);
          };
        return Reflect.get(target, key, target);
      });
    const reference = await run(stepped(new ChannelTransport()));
    // Execute
    const settled = await run(counting(new ChannelTransport()));
    const commitsOfRun = commits;
    const failing = async (transport: Transport) => {
      let fail = true;
      const rt = await askers(transport, async (q) => {
        if (q.slot === 1 && fail) {
          fail = false;
          throw new Error('no answer this time');
        }
        return 1 + (q.slot % 2);
      });
      try {
        await rt.runSlot(0);
        await expect(rt.runSlot(1)).rejects.toThrow('no answer this time');
        await rt.runSlot(1); // again, from the states slot 0 left
        await rt.runSlot(2);
        return { lines: rt.log.lines(), snapshot: await rt.snapshot() };
      } finally {
        await rt.close();
      }
    };
    const failedOnce = await failing(new ChannelTransport());
    const failedStepped = await failing(stepped(new ChannelTransport()));
    // Assert: six passes, the five after the first each carrying the last one's commit; one separate
    // commit, sent by the snapshot; the log and states of stepped hosts, which commit after each pass.
    expect(carried).toEqual([false, true, true, true, true, true]);
    expect(commitsOfRun).toBe(1);
    expect(settled.lines).toEqual(reference.lines);
    expect(settled.snapshot).toEqual(reference.snapshot);
    expect(failedOnce.lines).toEqual(failedStepped.lines);
    expect(failedOnce.snapshot).toEqual(failedStepped.snapshot);
  });
});

describe('a pass settled by its one host', () => {
  it('gives the log, mail and counters of the step-by-step loop, in this thread and behind comlink', async () => {
    // Prepare / Execute: the same topology and driver messages through each transport.
    const settledInline = await run(new InlineTransport());
    const steppedInline = await run(stepped(new InlineTransport()));
    const settledChannel = await run(new ChannelTransport());
    const steppedChannel = await run(stepped(new ChannelTransport()));
    // Assert: the run has every kind of event, and all four runs agree on all of it.
    const kinds = new Set(settledInline.lines.slice(1).map((l) => (JSON.parse(l) as { kind: string }).kind));
    expect([...kinds].sort()).toEqual(['dead-letter', 'failure', 'log', 'msg']);
    expect(settledInline.stats.steps).toBeGreaterThan(3 * 6);
    expect(settledInline.mail.length).toBe(3 * 5); // three relays ticking and the driver's chain, then the pass's one hop
    for (const other of [steppedInline, settledChannel, steppedChannel]) {
      expect(other.lines).toEqual(settledInline.lines);
      expect(other.mail).toEqual(settledInline.mail);
      expect(other.stats).toEqual(settledInline.stats);
      expect(other.snapshot).toEqual(settledInline.snapshot);
    }
  });

  it('answers asks in the middle of a settled pass and settles on: the step-by-step log, mail and counters', async () => {
    const runAsks = async (transport: Transport) => {
      const asked: string[] = [];
      const rt = await askers(transport, async (q) => {
        asked.push(`${q.slot} ${q.actor}`);
        return 1 + (q.slot % 2);
      });
      try {
        const mail: string[] = [];
        for (let slot = 0; slot < 3; slot++) {
          const r = await rt.runSlot(slot);
          for (const m of r.mail) mail.push(`${m.seq} ${m.from} ${[...(m.body as { values: Float32Array }).values].join(',')}`);
        }
        return { lines: rt.log.lines(), mail, asked, stats: { ...rt.stats(), transport: '' }, snapshot: await rt.snapshot() };
      } finally {
        await rt.close();
      }
    };
    const settled = await runAsks(new InlineTransport());
    expect(settled.asked.length).toBe(3 * 2);
    expect(settled.mail.length).toBe(3 * 2);
    for (const other of [
      await runAsks(stepped(new InlineTransport())),
      await runAsks(new ChannelTransport()),
      await runAsks(stepped(new ChannelTransport())),
    ])
      expect(other).toEqual(settled);
  });

  it('survives its host dying in the middle of a settled pass with the same log (ChannelTransport: the host exits)', async () => {
    const reference = await run(new InlineTransport());
    const killed = await run(new ChannelTransport(), (rt) => {
      rt.injectWorkerCrash(0, { slot: 1, step: 2 });
      rt.injectWorkerCrash(0, { slot: 2, step: 0 });
    });
    expect(killed.recoveries).toBe(2);
    expect(killed.lines).toEqual(reference.lines);
    expect(killed.mail).toEqual(reference.mail);
    expect(killed.snapshot).toEqual(reference.snapshot);
  });

  it("sends a settled pass's snapshots after its answer; a host that dies before sending them fails the recovery by name", async () => {
    // Prepare: count the answers that said their snapshots follow; a second transport loses them (they never arrive).
    let following = 0;
    const counting = wrapEndpoints(new ChannelTransport(), (target, key) =>
      key === 'settle'
        ? (...args: Parameters<NonNullable<HostEndpoint['settle']>>) =>
            target.settle!(...args).then((r) => {
              if (r.snapshotsFollow !== undefined) following++;
              expect(r.snapshots).toBeUndefined();
              return r;
            })
        : Reflect.get(target, key, target),
    );
    const losing = wrapEndpoints(new ChannelTransport(), (target, key) =>
      key === 'receiveSnapshots' ? () => [] : Reflect.get(target, key, target),
    );
    // Execute
    const reference = await run(new InlineTransport());
    const counted = await run(counting);
    const lost = run(losing, (rt) => rt.injectWorkerCrash(0, { slot: 2, step: 0 }));
    // Assert: six passes, each with its snapshots after the answer, restoring the same states.
    expect(following).toBe(6);
    expect(counted.snapshot).toEqual(reference.snapshot);
    await expect(lost).rejects.toThrow('worker 0 died before sending the snapshots of its last slot (1): its actors cannot be restored');
  });

  it('keeps a slot committed when onEvent throws after its commit: no rollback, no second run of it', async () => {
    for (const transport of [new InlineTransport(), new ChannelTransport()]) {
      let throwAt = 1;
      const rt = await createRuntime({
        seed: 3,
        topology: TOPOLOGY,
        transport,
        log: { keepLines: true },
        onEvent: (e) => {
          if (e.slot === throwAt) {
            throwAt = -1;
            throw new Error('a listener failed');
          }
        },
      });
      try {
        await rt.runSlot(0);
        await expect(rt.runSlot(1)).rejects.toThrow('a listener failed');
        expect(rt.slot).toBe(1);
        await rt.runSlot(2);
        const seqs = rt.log
          .lines()
          .slice(1)
          .map((l) => (JSON.parse(l) as { seq: number }).seq);
        expect(seqs).toEqual(seqs.map((_, i) => i)); // slot 1 logged once
        // The same three slots with a quiet listener: the same log and actor states.
        const quiet = await createRuntime({ seed: 3, topology: TOPOLOGY, transport: new InlineTransport(), log: { keepLines: true } });
        for (const slot of [0, 1, 2]) await quiet.runSlot(slot);
        expect(rt.log.lines()).toEqual(quiet.log.lines());
        expect(await rt.snapshot()).toEqual(await quiet.snapshot());
        await quiet.close();
      } finally {
        await rt.close();
      }
    }
  });

  it('stops a pass that does not settle after maxStepsPerSlot steps, as the step-by-step loop does', async () => {
    for (const transport of [new InlineTransport(), stepped(new InlineTransport()), new ChannelTransport()]) {
      const rt = await createRuntime({ seed: 1, topology: [{ id: 'l', kind: 'settle-loop' }], transport, maxStepsPerSlot: 25 });
      try {
        rt.send('l', 'again', {});
        await expect(rt.runSlot(0)).rejects.toThrow(SlotDidNotSettleError);
        await expect(rt.runSlot(1)).resolves.toMatchObject({ slot: 1 }); // rolled back: nothing pending
      } finally {
        await rt.close();
      }
    }
  });
});
