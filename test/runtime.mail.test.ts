/** transitionMail: an actor may handle a step's whole mail at once; the log is what message-by-message handling gives. */
import { createRuntime, type ActorSpec } from '../runtime/system';
import { KINDS } from './runtimeKinds';

async function runTallies(kind: 'tally' | 'tally-mail', workers: number) {
  const topology: ActorSpec[] = [
    { id: 'f0', kind: 'feeder', module: KINDS },
    { id: 'f1', kind: 'feeder', module: KINDS },
    { id: 'f2', kind: 'feeder', module: KINDS },
    ...[0, 1, 2, 3].map((i): ActorSpec => ({ id: `t${i}`, kind, module: KINDS })),
  ];
  const rt = await createRuntime({
    seed: 5,
    workers,
    topology,
    resources: [{ name: 'tallies', module: KINDS, export: 'tallyIds', args: [4] }],
    log: { keepLines: true },
  });
  try {
    for (let s = 0; s < 6; s++) await rt.runSlot(s, { t: s });
    const states = (await rt.snapshot()).actors
      .filter(([id]) => id.startsWith('t'))
      .map(([, a]) => a.state as { total: number; handled: number; batches: number });
    return { lines: rt.log.lines().slice(1), states, fallbacks: rt.stats().mailFallbacks };
  } finally {
    await rt.close();
  }
}

describe('transitionMail', () => {
  it('gives the same event log as message-by-message handling, on 0 and 2 workers, failures included', async () => {
    // Execute
    const reference = await runTallies('tally', 0);
    const batched0 = await runTallies('tally-mail', 0);
    const batched2 = await runTallies('tally-mail', 2);
    // Assert: the batched kind really batched (three feeders' messages a step), and nothing in the log changed.
    expect(batched0.lines).toEqual(reference.lines);
    expect(batched2.lines).toEqual(reference.lines);
    for (const s of [...batched0.states, ...batched2.states]) {
      expect(s.handled).toBe(reference.states[0]!.handled);
      expect(s.batches).toBeGreaterThan(0);
      expect(s.batches).toBeLessThan(s.handled);
    }
    // The one mail per tally actor that held f1's negative number was declined and counted.
    expect(reference.fallbacks).toBe(0);
    expect(batched0.fallbacks).toBe(4);
    expect(batched2.fallbacks).toBe(4);
    // Slot 3: f1 sends a negative number to every tally: the whole-mail call throws, the runtime
    // falls back message by message, and the failure is charged to f1's message alone.
    const failures = reference.lines
      .map((l) => JSON.parse(l) as { kind: string; from: string; data?: unknown })
      .filter((e) => e.kind === 'failure');
    expect(failures).toHaveLength(4);
    expect(JSON.stringify(failures)).toContain('negative -1');
    expect(batched0.states.map((s) => s.total)).toEqual(reference.states.map((s) => s.total));
  });
});
