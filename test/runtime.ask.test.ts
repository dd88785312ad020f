/**
 * An actor that asks the driver (runtime/actor.ts `ask`, README "Plug-ins"): the runtime answers
 * within the step and the actor handles its message again, so the log is the one of an actor that
 * knew the answer; a failed answer leaves every actor at the last commit. Hand-worked, one thread.
 */
import { createRuntime, registerActorKind } from '../runtime/system';
import type { ActorKind } from '../runtime/actor';

/** Counts messages; on 'go' it needs a number: asked of the driver (`asking`) or known in place (`knowing`). */
const counter = (kind: string, ask: boolean): ActorKind<{ n: number }> => ({
  kind,
  initialState: () => ({ n: 0 }),
  transition(s, m, ctx) {
    if (m.type !== 'go') return [{ n: s.n + 1 }, []];
    if (ask && ctx.answer === undefined) return [s, [{ kind: 'ask', question: { n: s.n } }]];
    const answer = ask ? (ctx.answer as number) : 10 * s.n;
    return [
      { n: s.n + answer },
      [
        { kind: 'log', type: 'answer', data: { answer } },
        { kind: 'send', to: 'driver', type: 'n', body: { n: s.n + answer }, delayS: 1 },
      ],
    ];
  },
});
registerActorKind(counter('asking', true));
registerActorKind(counter('knowing', false));

/** Two actors; 'a' gets two ticks then 'go', 'b' a tick in the same step; the events without the header and hashes. */
async function slotOf(kind: string, answer?: (q: { n: number }) => Promise<number>) {
  const asked: unknown[] = [];
  const rt = await createRuntime({
    seed: 1,
    topology: [
      { id: 'a', kind },
      { id: 'b', kind },
    ],
    log: { keepLines: true },
    ...(answer ? { answer: async (ask) => (asked.push(ask), answer(ask.question as { n: number })) } : {}),
  });
  for (const type of ['tick', 'tick', 'go']) rt.send('a', type, {}, 0);
  rt.send('b', 'tick', {}, 0);
  try {
    const r = await rt.runSlot(0);
    return {
      events: rt.log
        .lines()
        .slice(1)
        .map((l) => l.replace(/,"hash":"[0-9a-f]+"}$/, '')),
      mail: r.mail.map((m) => m.body),
      asked,
      snapshot: await rt.snapshot(),
    };
  } finally {
    await rt.close();
  }
}

describe('the ask effect', () => {
  it('answered in the same step: the events of an actor that knew the answer, nothing of the exchange logged', async () => {
    // Prepare: 'knowing' computes 10·n in place; 'asking' asks the driver, which answers 10·n.
    const knowing = await slotOf('knowing');
    // Execute
    const asking = await slotOf('asking', async ({ n }) => 10 * n);
    // Assert: n = 2 after two ticks, so 20 is added; one question, from a, at t = 0.
    expect(asking.mail).toEqual([{ n: 22 }]);
    expect(asking.asked).toEqual([{ slot: 0, actor: 'a', t: 0, question: { n: 2 } }]);
    expect(asking.events).toEqual(knowing.events);
    expect(asking.events.filter((e) => e.includes('"kind":"log"'))).toHaveLength(1);
  });

  it('a failed answer rejects runSlot and leaves every actor at the last commit', async () => {
    await expect(slotOf('asking', async () => Promise.reject(new Error('the process died')))).rejects.toThrow('the process died');
    const rt = await createRuntime({ seed: 1, topology: [{ id: 'a', kind: 'asking' }], answer: () => Promise.reject(new Error('no')) });
    rt.send('a', 'tick', {}, 0);
    await rt.runSlot(0);
    rt.send('a', 'tick', {}, 1);
    rt.send('a', 'go', {}, 1);
    await expect(rt.runSlot(1)).rejects.toThrow('no');
    const s = await rt.snapshot();
    expect(s.slot).toBe(0);
    expect(s.actors).toEqual([['a', expect.objectContaining({ state: { n: 1 } })]]);
    await rt.close();
  });

  it('without an answer function, asking fails the slot with a message naming the actor', async () => {
    await expect(slotOf('asking')).rejects.toThrow(/slot 0: a asked the driver, and this runtime has no answer function/);
  });
});
