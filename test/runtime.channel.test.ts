/**
 * The RPC boundary tested in one thread: hosts behind comlink over a
 * MessageChannel give the same log as direct calls, survive an injected host death, and move
 * typed arrays between hosts without aliasing what an actor keeps.
 */
import { ChannelTransport, createRuntime, type ActorSpec, type Runtime } from '../runtime/system';
import { KINDS } from './runtimeKinds';

const n = 30;
const topology: ActorSpec[] = [
  ...Array.from({ length: n }, (_, i): ActorSpec => ({ id: `g${i}`, kind: 'gossip', module: KINDS })),
  { id: 'f', kind: 'flaky', module: KINDS },
];
const resources = [{ name: 'peers', module: KINDS, export: 'ringPeers', args: [n] }];

async function run(rt: Runtime, slots: number): Promise<string[]> {
  for (let s = 0; s < slots; s++) {
    if (s === 3) rt.send('f', 'boom');
    await rt.runSlot(s, { t: s * 0.1 });
  }
  const lines = rt.log.lines();
  await rt.close();
  return [...lines];
}

describe('runtime over comlink in one thread', () => {
  it('gives the same log as the in-process executor, with 3 hosts, and after a host dies twice', async () => {
    const inline = await run(await createRuntime({ seed: 2, topology, resources, log: { keepLines: true } }), 8);
    const channel = await run(
      await createRuntime({ seed: 2, topology, resources, transport: new ChannelTransport(), workers: 3, log: { keepLines: true } }),
      8,
    );
    expect(channel).toEqual(inline);
    const rt = await createRuntime({
      seed: 2,
      topology,
      resources,
      transport: new ChannelTransport(),
      workers: 3,
      log: { keepLines: true },
    });
    rt.injectWorkerCrash(2, { slot: 1, step: 1 });
    rt.injectWorkerCrash(0, { slot: 5, step: 2 });
    const crashed = await run(rt, 8);
    expect(crashed).toEqual(inline);
  });

  it('moves a tensor between hosts; an actor that keeps it keeps an intact copy', async () => {
    const ids = ['r0', 'r1keep', 'r2', 'r3'];
    const rt = await createRuntime({
      seed: 1,
      transport: new ChannelTransport(),
      workers: 2,
      topology: ids.map((id) => ({ id, kind: 'relay', module: KINDS })),
      resources: [{ name: 'relayNext', module: KINDS, export: 'relayRing', args: [ids] }],
    });
    const x = Float32Array.from({ length: 16 * 32 * 128 }, (_, i) => i % 7);
    rt.send('r0', 'tensor', { x, hops: 6 });
    expect(x.length).toBe(16 * 32 * 128); // send() copies: the caller's array is untouched
    const r = await rt.runSlot(0);
    const back = (r.mail[0]!.body as { x: Float32Array }).x;
    expect(back).toEqual(x);
    const snap = await rt.snapshot();
    const kept = snap.actors.find(([id]) => id === 'r1keep')![1].state as { kept: Float32Array; hops: number };
    expect(kept.kept).toEqual(x);
    expect(kept.hops).toBe(2);
    expect(rt.stats().crossHostMessages + rt.stats().localMessages).toBe(7);
    await rt.close();
  });
});
