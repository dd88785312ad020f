/**
 * transitionGroup: actors of one kind with one message each in a step handled at once; transitionMailGroup:
 * several actors of one kind with their whole mail of a step at once. The log is what one-by-one handling gives.
 */
import { createRuntime, type ActorSpec } from '../runtime/system';
import { KINDS } from './runtimeKinds';

async function runDrawers(kind: 'drawer' | 'drawer-group', workers: number) {
  const topology: ActorSpec[] = [
    ...[0, 1, 2, 3, 4].map((i): ActorSpec => ({ id: `d${i}`, kind, module: KINDS })),
    { id: 'sink', kind: 'sink', module: KINDS },
  ];
  const rt = await createRuntime({ seed: 11, workers, topology, log: { keepLines: true } });
  try {
    for (let s = 0; s < 6; s++) await rt.runSlot(s, { t: s });
    const actors = (await rt.snapshot()).actors;
    const drawers = actors.filter(([id]) => id.startsWith('d')).map(([, a]) => a.state as { total: number; grouped: number });
    const sink = actors.find(([id]) => id === 'sink')![1].state as { total: number };
    return { lines: rt.log.lines().slice(1), drawers, sink: sink.total, fallbacks: rt.stats().mailFallbacks };
  } finally {
    await rt.close();
  }
}

describe('transitionGroup', () => {
  it('gives the same event log, states and draws as one-by-one handling, on 0 and 2 workers; a group that throws falls back and the failure is its own message', async () => {
    // Execute
    const reference = await runDrawers('drawer', 0);
    const grouped0 = await runDrawers('drawer-group', 0);
    const grouped2 = await runDrawers('drawer-group', 2);
    // Assert: the same log (draws, sends with typed arrays, the failure), totals and sink.
    expect(grouped0.lines).toEqual(reference.lines);
    expect(grouped2.lines).toEqual(reference.lines);
    expect(grouped0.drawers.map((d) => d.total)).toEqual(reference.drawers.map((d) => d.total));
    expect(grouped2.sink).toBe(reference.sink);
    // Grouping really happened: one host holds all five drawers, grouped in every slot but 0 (the kind
    // declines it: one by one, not counted) and 3 (d1 throws); with two hosts (two or three drawers
    // each) only d1's host falls back in slot 3.
    expect(reference.drawers.every((d) => d.grouped === 0)).toBe(true);
    expect(grouped0.drawers.map((d) => d.grouped)).toEqual([4, 4, 4, 4, 4]);
    expect(grouped2.drawers[1]!.grouped).toBe(4);
    expect(grouped2.drawers.filter((d) => d.grouped === 5).length).toBeGreaterThanOrEqual(2);
    expect(grouped2.drawers.every((d) => d.grouped === 4 || d.grouped === 5)).toBe(true);
    // Slot 3: d1 throws, its group is declined (counted once per host) and the slot runs one by one.
    expect(reference.fallbacks).toBe(0);
    expect(grouped0.fallbacks).toBe(1);
    expect(grouped2.fallbacks).toBe(1);
    const failures = reference.lines.map((l) => JSON.parse(l) as { kind: string; from: string }).filter((e) => e.kind === 'failure');
    expect(failures.map((f) => f.from)).toEqual(['d1']);
  });
});

async function runBins(kind: 'bin' | 'bin-group', workers: number) {
  const topology: ActorSpec[] = [
    ...[0, 1, 2, 3].map((i): ActorSpec => ({ id: `s${i}`, kind: 'scatterer', module: KINDS })),
    ...[0, 1, 2].map((i): ActorSpec => ({ id: `b${i}`, kind, module: KINDS })),
    { id: 'sink', kind: 'sink', module: KINDS },
  ];
  const rt = await createRuntime({ seed: 7, workers, topology, log: { keepLines: true } });
  try {
    for (let s = 0; s < 6; s++) await rt.runSlot(s, { t: s });
    const actors = (await rt.snapshot()).actors;
    const bins = actors.filter(([id]) => id.startsWith('b')).map(([, a]) => a.state as { total: number; grouped: number });
    return { lines: rt.log.lines().slice(1), bins, fallbacks: rt.stats().mailFallbacks };
  } finally {
    await rt.close();
  }
}

describe('transitionMailGroup', () => {
  it("gives the log, states and draws of message-by-message handling, on 0 and 2 workers; a group that throws falls back and the failure is its own message's", async () => {
    // Execute
    const reference = await runBins('bin', 0);
    const grouped0 = await runBins('bin-group', 0);
    const grouped2 = await runBins('bin-group', 2);
    // Assert: the same log (draws, sends, the failure) and totals.
    expect(grouped0.lines).toEqual(reference.lines);
    expect(grouped2.lines).toEqual(reference.lines);
    expect(grouped0.bins.map((b) => b.total)).toEqual(reference.bins.map((b) => b.total));
    expect(grouped2.bins.map((b) => b.total)).toEqual(reference.bins.map((b) => b.total));
    // Grouping happened, with several messages for a bin in one step: in one host every slot but 3
    // (b1 throws: the group falls back, counted once, and its bins go one by one).
    const messages = reference.lines.map((l) => JSON.parse(l) as { kind: string; to: string; type: string; slot: number });
    const puts = messages.filter((e) => e.type === 'put');
    expect(new Set(puts.map((e) => `${e.slot} ${e.to}`)).size).toBeLessThan(puts.length);
    const putsOutside3 = puts.filter((e) => e.slot !== 3).length;
    expect(reference.bins.every((b) => b.grouped === 0)).toBe(true);
    expect(grouped0.bins.reduce((n, b) => n + b.grouped, 0)).toBe(putsOutside3);
    expect(reference.fallbacks).toBe(0);
    expect(grouped0.fallbacks).toBe(1);
    expect(grouped2.bins.reduce((n, b) => n + b.grouped, 0)).toBeGreaterThan(0);
    const failures = messages.filter((e) => e.kind === 'failure');
    expect(failures.map((f) => (f as unknown as { from: string }).from)).toEqual(['b1']);
  });
});
