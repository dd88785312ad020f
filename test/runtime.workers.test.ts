/**
 * The runtime on worker threads (piscina + comlink): byte-identical logs whatever the worker
 * count, 1,000 actors on 2 workers, a worker killed mid-run, typed arrays moved.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRuntime, readEventLog, type ActorSpec, type Runtime } from '../runtime/system';
import { KINDS } from './runtimeKinds';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlora-runtime-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Gossip actors on a ring; with `block`, runs of `block` neighbours are co-located (a placement group). */
function gossipTopology(n: number, extra: ActorSpec[] = [], block = 0): ActorSpec[] {
  const specs: ActorSpec[] = Array.from({ length: n }, (_, i) => ({
    id: `g${i}`,
    kind: 'gossip',
    module: KINDS,
    ...(block > 0 ? { placement: { group: `b${Math.floor(i / block)}` } } : {}),
  }));
  return [...specs, ...extra];
}

const flakyAndWatcher: ActorSpec[] = [
  { id: 'f', kind: 'flaky', module: KINDS, supervisor: 'w' },
  { id: 'w', kind: 'watcher', module: KINDS },
];

async function runGossip(file: string, workers: number, n: number, slots: number, crash?: (rt: Runtime) => void, block = 0) {
  const rt = await createRuntime({
    seed: 42,
    workers,
    topology: gossipTopology(n, flakyAndWatcher, block),
    resources: [{ name: 'peers', module: KINDS, export: 'ringPeers', args: [n] }],
    log: { path: file, header: { scenario: 'gossip-test', backend: 'none' } },
  });
  crash?.(rt);
  let recoveries = 0;
  const mail: unknown[] = [];
  try {
    for (let s = 0; s < slots; s++) {
      if (s % 5 === 2) rt.send('f', 'boom', { s }, s);
      if (s % 5 === 3) rt.send('f', 'report', null, s);
      const r = await rt.runSlot(s, { t: s });
      recoveries += r.recoveries;
      mail.push(...r.mail.map((m) => [m.seq, m.type, m.body]));
    }
    return { bytes: fs.readFileSync(file), hash: rt.logHash, stats: rt.stats(), recoveries, mail, snapshot: await rt.snapshot() };
  } finally {
    await rt.close();
  }
}

describe('runtime on worker threads', () => {
  let reference: Awaited<ReturnType<typeof runGossip>>;

  it('gives byte-identical event logs with 0 (in-process), 1, 2 and 4 workers', async () => {
    reference = await runGossip(path.join(dir, 'w0.jsonl'), 0, 60, 12);
    for (const workers of [1, 2, 4]) {
      const r = await runGossip(path.join(dir, `w${workers}.jsonl`), workers, 60, 12);
      expect(r.hash).toBe(reference.hash);
      expect(r.bytes.equals(reference.bytes)).toBe(true);
      expect(r.mail).toEqual(reference.mail);
      expect(r.snapshot).toEqual(reference.snapshot);
      expect(r.stats.hosts).toBe(workers);
    }
    const log = readEventLog(path.join(dir, 'w4.jsonl'));
    expect(log.error).toBeUndefined();
    expect(log.header).toMatchObject({ format: 'airlora-events', version: 3, scenario: 'gossip-test', seed: 42 });
    expect(log.events.filter((e) => e.kind === 'failure').map((e) => e.slot)).toEqual([2, 7]);
  });

  it('runs 1,000 actors exchanging messages over 50 slots on 2 workers', async () => {
    const r = await runGossip(path.join(dir, 'big.jsonl'), 2, 1000, 50, undefined, 100);
    expect(r.stats.actorsPerHost).toEqual([501, 501]);
    // every gossip actor pings once per slot and every ping is answered
    expect(r.stats.messages).toBeGreaterThanOrEqual(1000 * 50 * 3);
    expect(r.stats.crossHostMessages).toBeGreaterThan(0);
    expect(r.stats.localMessages).toBeGreaterThan(0);
    const log = readEventLog(path.join(dir, 'big.jsonl'));
    expect(log.error).toBeUndefined();
    expect(log.hash).toBe(r.hash);
  });

  it('survives a worker killed mid-run with the same log as an unkilled run', async () => {
    const killed = await runGossip(path.join(dir, 'killed.jsonl'), 2, 60, 12, (rt) => {
      rt.injectWorkerCrash(1, { slot: 4, step: 1 });
      rt.injectWorkerCrash(0, { slot: 9, step: 0 });
    });
    expect(killed.recoveries).toBe(2);
    expect(killed.stats.recoveries).toBe(2);
    expect(killed.bytes.equals(reference.bytes)).toBe(true);
    expect(killed.mail).toEqual(reference.mail);
  });

  it('survives its only worker killed in the middle of a pass it runs alone (settled) with the same log', async () => {
    const killed = await runGossip(path.join(dir, 'killed1.jsonl'), 1, 60, 12, (rt) => {
      rt.injectWorkerCrash(0, { slot: 3, step: 1 });
      rt.injectWorkerCrash(0, { slot: 8, step: 0 });
    });
    expect(killed.recoveries).toBe(2);
    expect(killed.bytes.equals(reference.bytes)).toBe(true);
    expect(killed.mail).toEqual(reference.mail);
  });
});
