/**
 * A host that shares the runtime's memory (a worker thread) leaves the summaries of a pass it
 * settles to the runtime's thread: its records carry their bodies, and the log's writer summarises
 * and digests them there (runtime/host.ts, eventLog.ts LogDraft). The log must be the one a host
 * that summarises everything itself writes, line for line.
 */
import { createRuntime, registerActorKind, type ActorSpec } from '../runtime/system';
import type { ActorKind } from '../runtime/actor';
import { sendTo, withImmer, logEvent } from '../runtime/immer';
import { ChannelTransport, type HostEndpoint, type Transport } from '../runtime/transport';
import { EventLogWriter, LogDraftError, createEventLogHeader, type EventRecord } from '../runtime/eventLog';
import { loadPayloadDigest } from '../runtime/payloadDigest';
import { summarizePayload } from '../runtime/canonical';
import { isSharedBuffer, shareTensors, tensorArray, tensorCopy, tensorsShared } from '../util/sharedTensors';

/** Sends a tensor in shared memory (when its thread shares them), one in an ordinary array, and plain data, along a ring. */
const sharer: ActorKind<{ hops: number }> = {
  kind: 'shared-sharer',
  ticks: true,
  initialState: () => ({ hops: 0 }),
  transition: withImmer((s, m, ctx) => {
    s.hops += 1;
    if (m.type === 'weights') return [];
    const left = m.type === 'slot' ? 3 : (m.body as { left: number }).left;
    if (left === 0) return [sendTo('driver', 'done', { hops: s.hops })];
    const shared = tensorArray(64).fill(left + ctx.slot);
    const next = `s${(Number(ctx.self.slice(1)) + 1) % 2}`;
    return [
      logEvent('hop', { left, shared }),
      sendTo(next, 'hop', { left: left - 1, cut: { data: shared, shape: [8, 8] }, note: 'x'.repeat(left) }),
      // An ordinary array made on the global ArrayBuffer: jest gives a test file's own `new Float32Array(n)` a buffer of another realm, which the runtime's checks do not see.
      sendTo(next, 'weights', { w: new Float32Array(new ArrayBuffer(64)).fill(left), also: tensorCopy(shared) }),
    ];
  }),
};
/**
 * Keeps a tensor (in shared memory when its thread shares them) and mails it to the driver, which
 * writes into what it gets; logs its kept tensor every slot, a Buffer and a function too, which a
 * structured clone would change (a Buffer comes back a Uint8Array; a function cannot be cloned).
 */
const keeper: ActorKind<{ kept: Float32Array | null }> = {
  kind: 'shared-keeper',
  ticks: true,
  initialState: () => ({ kept: null }),
  transition: (s, _m, ctx) => {
    const kept = s.kept ?? tensorArray(8).fill(ctx.slot + 1);
    return [
      { kept },
      [
        { kind: 'log', type: 'kept', data: { kept, raw: Buffer.from([1, 2, ctx.slot]), score: () => 0 } },
        { kind: 'send', to: 'driver', type: 'kept', body: { values: kept, raw: Buffer.from([ctx.slot]) } },
      ],
    ];
  },
};
registerActorKind(sharer);
registerActorKind(keeper);

const TOPOLOGY: ActorSpec[] = [0, 1].map((i) => ({ id: `s${i}`, kind: 'shared-sharer' }));

/** `inner` with its hosts said to share this thread's memory; `seen` gets every record the hosts send as they settle. */
function sharing(inner: Transport, seen: EventRecord[]): Transport {
  return {
    name: inner.name,
    canFail: inner.canFail,
    sharesMemory: true,
    open: async (i) => {
      const ep = await inner.open(i);
      const settle = ep.settle?.bind(ep);
      const wrapped: Partial<HostEndpoint> = settle
        ? {
            settle: (batch, transfer, progress) =>
              settle(batch, transfer, (records) => {
                seen.push(...records);
                progress(records);
              }),
          }
        : {};
      return new Proxy(ep, {
        get: (target, key) => (key in wrapped ? wrapped[key as keyof HostEndpoint] : Reflect.get(target, key, target)),
      });
    },
    close: () => inner.close(),
  };
}

async function logLines(transport: Transport): Promise<readonly string[]> {
  const rt = await createRuntime({ seed: 5, topology: TOPOLOGY, transport, log: { keepLines: true } });
  try {
    for (let slot = 0; slot < 3; slot++) await rt.runSlot(slot);
    return [...rt.log.lines()];
  } finally {
    await rt.close();
  }
}

afterEach(() => shareTensors(false)); // the hosts of these tests live in this thread

describe('summaries left to the runtime by a host that shares its memory', () => {
  it('writes the log of a host that summarises everything itself, line for line, from the bodies of its records', async () => {
    // Arrange: the same runs, hosts behind comlink in this thread, one said to share memory.
    const plain = await logLines(new ChannelTransport());
    const seen: EventRecord[] = [];
    // Act
    const shared = await logLines(sharing(new ChannelTransport(), seen));
    // Assert: the same lines; every record of the settled passes carried its body, its tensors in
    // shared memory shared with this thread, the ordinary array copied.
    expect(shared).toEqual(plain);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => 'body' in r.payload)).toBe(true);
    const bodyOf = (type: string) => (seen.find((r) => r.type === type && r.kind === 'msg')!.payload as { body: unknown }).body;
    const hop = bodyOf('hop') as { cut: { data: Float32Array } };
    const weights = bodyOf('weights') as { w: Float32Array; also: Float32Array };
    expect(isSharedBuffer(hop.cut.data.buffer)).toBe(true);
    expect(isSharedBuffer(weights.also.buffer)).toBe(true);
    expect(isSharedBuffer(weights.w.buffer)).toBe(false);
  });

  it('summarises on the host what a clone would change, and never lets the driver alias what an actor keeps', async () => {
    // Arrange: the keeper's runs, the driver writing into every tensor it is mailed.
    const run = async (transport: Transport): Promise<readonly string[]> => {
      const rt = await createRuntime({ seed: 3, topology: [{ id: 'k', kind: 'shared-keeper' }], transport, log: { keepLines: true } });
      try {
        for (let slot = 0; slot < 3; slot++)
          for (const m of (await rt.runSlot(slot)).mail) (m.body as { values: Float32Array }).values.fill(99);
        return [...rt.log.lines()];
      } finally {
        await rt.close();
      }
    };
    const plain = await run(new ChannelTransport());
    const seen: EventRecord[] = [];
    // Act
    const shared = await run(sharing(new ChannelTransport(), seen));
    // Assert: the same lines (the kept tensor unchanged by the driver's writes, the Buffer logged as
    // a Buffer, the function as null); the log events went as summaries, the mail as bodies.
    expect(shared).toEqual(plain);
    expect(plain.some((l) => l.includes('"$type":"Buffer"'))).toBe(true);
    expect(seen.filter((r) => r.kind === 'log').every((r) => 'bits' in r.payload)).toBe(true);
  });

  it("summarises a record's body in the draft as the host would have, and names a draft without a digest", async () => {
    // Arrange
    const digest = await loadPayloadDigest('xxh64');
    shareTensors(true);
    const body = { cut: { data: tensorCopy(new Float32Array([1, 2, 3])), shape: [3] }, items: Array.from({ length: 40 }, (_, i) => i) };
    const record = (payload: EventRecord['payload']): EventRecord => ({
      seq: 0,
      slot: 0,
      t: 0,
      kind: 'msg',
      from: 'a',
      to: 'b',
      type: 'x',
      payload,
    });
    const writer = (): EventLogWriter => new EventLogWriter(createEventLogHeader({ seed: 1 }), { keepLines: true });
    // Act
    const byHost = writer();
    byHost.append([record(summarizePayload(body, digest))]);
    const byWriter = writer();
    const draft = byWriter.draft(digest);
    draft.add([record({ body })]);
    byWriter.commit(draft);
    // Assert
    expect(byWriter.lines()).toEqual(byHost.lines());
    expect(() =>
      writer()
        .draft()
        .add([record({ body })]),
    ).toThrow(LogDraftError);
  });

  it('allocates in shared memory only when asked, and copies into it', () => {
    expect(tensorsShared()).toBe(false);
    expect(isSharedBuffer(tensorArray(4).buffer)).toBe(false);
    shareTensors(true);
    const values = new Float32Array([1.5, -2, 3]);
    const copy = tensorCopy(values);
    expect(isSharedBuffer(copy.buffer)).toBe(true);
    expect([...copy]).toEqual([...values]);
    expect(isSharedBuffer(tensorArray(4).buffer)).toBe(true);
  });
});
