/** The actor runtime in this thread (workers: 0): hand-worked cases, ordering, failures, topology. */
import { join } from 'node:path';
import { createRuntime, registerActorKind, TopologyError, type ActorSpec } from '../runtime/system';
import type { ActorKind } from '../runtime/actor';
import { sendTo, withImmer } from '../runtime/immer';
import { flaky, KINDS, watcher } from './runtimeKinds';
import { cellDevice, cloud, edgeServer } from './fixtures/toyCells';

const CELLS = join(__dirname, 'fixtures', 'toyCells');

/** A kind registered without a module: runs only in this thread. */
const echo: ActorKind<{ n: number }> = {
  kind: 'echo',
  initialState: () => ({ n: 0 }),
  transition: withImmer((s, m) => {
    s.n += 1;
    const { hops } = m.body as { hops: number };
    return hops > 0 ? [sendTo(m.from === 'driver' ? 'b' : m.from, 'hop', { hops: hops - 1 }, 0.5)] : [sendTo('driver', 'done', { n: s.n })];
  }),
};
registerActorKind(echo);

const brief = (lines: readonly string[]) =>
  lines.slice(1).map((l) => {
    const e = JSON.parse(l) as { seq: number; t: number; kind: string; from: string; to: string; type: string };
    return `${e.seq} t=${e.t} ${e.kind} ${e.from}->${e.to} ${e.type}`;
  });

describe('runtime, in-process executor', () => {
  it('delivers a ping-pong in virtual time and logs every message (hand-worked)', async () => {
    // Prepare: a and b echo a message back and forth, 0.5 s per hop, three hops.
    const rt = await createRuntime({
      seed: 7,
      topology: [
        { id: 'a', kind: 'echo' },
        { id: 'b', kind: 'echo' },
      ],
      log: { keepLines: true },
    });
    // Execute
    rt.send('a', 'hop', { hops: 3 }, 1);
    const r = await rt.runSlot(0);
    // Assert
    expect(brief(rt.log.lines())).toEqual([
      '0 t=1 msg driver->a hop',
      '1 t=1.5 msg a->b hop',
      '2 t=2 msg b->a hop',
      '3 t=2.5 msg a->b hop',
      '4 t=2.5 msg b->driver done',
    ]);
    expect(r.mail).toEqual([{ seq: 4, slot: 0, t: 2.5, from: 'b', to: 'driver', type: 'done', body: { n: 2 } }]);
    expect(r.t).toBe(2.5);
    expect(rt.now).toBe(2.5);
    expect(r.logHash).toBe(rt.logHash);
    await rt.close();
  });

  it('orders a mailbox by (t, sender, seq), never by arrival', async () => {
    const seen: string[] = [];
    const sink: ActorKind<null> = {
      kind: 'sink',
      initialState: () => null,
      transition: (s, m) => {
        seen.push(`${m.t}:${m.from}:${(m.body as { k: number }).k}`);
        return [s, []];
      },
    };
    const fan: ActorKind<null> = {
      kind: 'fan',
      initialState: () => null,
      transition: (s, m, ctx) => [s, (m.body as number[]).map((d, k) => sendTo('sink', 'x', { k: k + (ctx.self === 'z' ? 10 : 0) }, d))],
    };
    registerActorKind(sink);
    registerActorKind(fan);
    const rt = await createRuntime({
      seed: 1,
      topology: [
        { id: 'z', kind: 'fan' },
        { id: 'sink', kind: 'sink' },
        { id: 'y', kind: 'fan' },
      ],
    });
    rt.send('z', 'go', [0.2, 0.1, 0.1]);
    rt.send('y', 'go', [0.1, 0.2]);
    await rt.runSlot(0);
    expect(seen).toEqual(['0.1:y:0', '0.1:z:11', '0.1:z:12', '0.2:y:1', '0.2:z:10']);
    await rt.close();
  });

  it('restarts a throwing actor from its last state and logs the failure; its supervisor hears of it', async () => {
    const topology: ActorSpec[] = [
      { id: 'f', kind: 'flaky', module: KINDS, supervisor: 'w' },
      { id: 'g', kind: 'flaky', module: KINDS },
      { id: 'w', kind: 'watcher', module: KINDS },
    ];
    const rt = await createRuntime({ seed: 3, topology, log: { keepLines: true } });
    rt.send('f', 'tick');
    rt.send('f', 'boom');
    rt.send('g', 'boom');
    rt.send('f', 'report');
    const r = await rt.runSlot(0);
    const events = rt.log
      .lines()
      .slice(1)
      .map((l) => JSON.parse(l) as { kind: string; from: string; to: string; type: string; payload: { value: unknown } });
    const failures = events.filter((e) => e.kind === 'failure');
    expect(failures.map((e) => [e.from, e.to])).toEqual([
      ['f', 'w'],
      ['g', 'runtime'],
    ]);
    expect(failures[0]!.payload.value).toMatchObject({
      actor: 'f',
      error: { name: 'Error', message: 'boom at count 2' },
      message: { type: 'boom', from: 'driver' },
    });
    expect(events.some((e) => e.kind === 'log' && e.type === 'restart-decision')).toBe(true);
    // f handled tick, (boom undone: count and draw), report: count 2, two draws only.
    const count = r.mail.find((m) => m.type === 'count')!.body as { count: number; draws: number[] };
    expect(count.count).toBe(2);
    expect(count.draws).toHaveLength(2);
    expect(r.mail.find((m) => m.type === 'saw-failure')!.body).toMatchObject({ actor: 'f' });
    expect(r.failures).toBe(2);
    expect(rt.stats().failures).toBe(2);
    await rt.close();
  });

  it('runs a topology the built-in scenario does not use: two cells, each with an edge server, under one cloud', async () => {
    const topology: ActorSpec[] = [{ id: 'cloud', kind: 'cloud', module: CELLS, params: { cells: 2 } }];
    for (const cell of ['cellA', 'cellB']) {
      const devices = cell === 'cellA' ? 3 : 4;
      topology.push({ id: cell, kind: 'edge-server', module: CELLS, params: { devices }, placement: { group: cell } });
      for (let d = 0; d < devices; d++)
        topology.push({ id: `${cell}.d${d}`, kind: 'cell-device', module: CELLS, params: { edge: cell }, placement: { group: cell } });
    }
    const rt = await createRuntime({ seed: 11, topology });
    const totals: number[] = [];
    for (let slot = 0; slot < 3; slot++) {
      const r = await rt.runSlot(slot, { t: slot });
      expect(r.mail.map((m) => m.type)).toEqual(['round']);
      totals.push((r.mail[0]!.body as { total: number }).total);
    }
    expect(totals.every((x) => x >= 0 && x <= 7 * 99)).toBe(true);
    expect(rt.stats()).toMatchObject({ slots: 3, messages: 3 * (7 + 7 + 2), failures: 0 });
    await rt.close();
    void [cellDevice, edgeServer, cloud, flaky, watcher];
  });

  it('continues from a snapshot exactly as an uninterrupted run', async () => {
    const topology: ActorSpec[] = [];
    for (let i = 0; i < 20; i++) topology.push({ id: `g${i}`, kind: 'gossip', module: KINDS });
    const resources = [{ name: 'peers', module: KINDS, export: 'ringPeers', args: [20] }];
    const full = await createRuntime({ seed: 5, topology, resources });
    for (let s = 0; s < 6; s++) await full.runSlot(s);
    const a = await createRuntime({ seed: 5, topology, resources });
    for (let s = 0; s < 3; s++) await a.runSlot(s);
    const snap = await a.snapshot();
    await a.close();
    const b = await createRuntime({ seed: 5, topology, resources, restore: snap, log: { continueFrom: { hash: snap.logHash } } });
    for (let s = 3; s < 6; s++) await b.runSlot(s);
    expect(b.logHash).toBe(full.logHash);
    expect(await b.snapshot()).toEqual(await full.snapshot());
    await Promise.all([full.close(), b.close()]);
  });

  it('rejects a bad topology at load time, naming the field', async () => {
    await expect(
      createRuntime({
        seed: 1,
        topology: [
          { id: 'a', kind: 'echo' },
          { id: 'a', kind: 'echo' },
        ],
      }),
    ).rejects.toThrow('topology[1].id: duplicate id');
    await expect(createRuntime({ seed: 1, topology: [{ id: 'driver', kind: 'echo' }] })).rejects.toThrow(TopologyError);
    await expect(createRuntime({ seed: 1, topology: [{ id: 'a', kind: 'echo', supervisor: 'nobody' }] })).rejects.toThrow(
      "topology[0].supervisor: no actor 'nobody'",
    );
    await expect(createRuntime({ seed: 1, topology: [{ id: 'a', kind: 'nope' }] })).rejects.toThrow(
      "topology[0].kind: no module given and no kind 'nope' registered",
    );
    await expect(createRuntime({ seed: 1, workers: 2, topology: [{ id: 'a', kind: 'echo' }] })).rejects.toThrow(
      'topology[0].module: required with worker threads',
    );
    await expect(createRuntime({ seed: 1, topology: [{ id: 'a', kind: 'x', module: '/no/such/module' }] })).rejects.toThrow(
      "topology[0].module: cannot resolve '/no/such/module'",
    );
  });
});
