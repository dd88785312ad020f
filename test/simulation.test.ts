/**
 * End to end on scenarios/quick.json: real split training over the simulated cell,
 * through the worker pool. Loss falls, accuracy rises above chance, the log replays with identical
 * hashes, and 1 and 2 workers give the same log hash.
 */
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../app/scenario';
import { runToFolder, type RunResult } from '../app/sim/run';
import { replayLog } from '../app/sim/replay';
import { parseMetricsCsv } from '../app/report';
import { EventLogWriter, readEventLog, type EventLogHeader } from '../runtime/eventLog';
import { enableModelTiming, modelTiming, resetModelTiming } from '../models';
import type { Decided, RoundSummary } from '../actors/roundMessages';
import { checkCharges } from '../app/sim/chargeCheck';

const quick = loadScenario(join(__dirname, '..', 'scenarios', 'quick.json'));
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));

describe('simulation on quick.json', () => {
  let one: RunResult;
  let oneDir: string;
  const closed: { decided: Decided; summary: RoundSummary }[] = [];

  beforeAll(async () => {
    oneDir = fresh('w1');
    one = await runToFolder(quick, { outDir: oneDir, workers: 1, onRoundClosed: (r) => closed.push(r) });
  }, 300_000);

  it('charges every admitted device what the scheduler predicted for its β, and it finishes at decision time + predicted latency', () => {
    // The scheduler's prediction (scheduler/costs.ts deviceCosts, in the decision) against what the
    // devices, shards and server charged on the applied links (channels/transfer.ts): one computation,
    // summed per transfer instead of once per round, so equal to rounding.
    expect(closed).toHaveLength(quick.training.rounds);
    const check = checkCharges(closed);
    expect(check.strays).toEqual([]);
    expect(check.checked).toBeGreaterThanOrEqual(quick.training.rounds);
    expect(check.maxEnergyRelErr).toBeLessThan(1e-12);
    expect(check.maxFinishRelErr).toBeLessThan(1e-12);
    for (const { decided, summary } of closed) {
      const admitted = decided.decision.admitted;
      // Every admitted device reported (quick.json has no faults), and no one missed T_max here:
      // the round's latency is the server's, the last finish.
      expect(summary.reports.map((r) => r.device).sort()).toEqual([...admitted].sort());
      expect(Object.keys(summary.failures)).toEqual([]);
      if (admitted.length > 0) expect(summary.latencyS).toBe(Math.max(...summary.reports.map((r) => r.finishT - decided.decidedT)));
    }
    // The metrics report the energy the devices settled in their queues: the same figures.
    for (const [i, row] of one.rounds.entries()) for (const r of closed[i]!.summary.reports) expect(row.energyJ[r.device]).toBe(r.energyJ);
  });

  it('writes the output folder of INTERFACE.md', () => {
    for (const f of ['events.jsonl', 'metrics.csv', 'summary.json', 'report.html', 'figure.svg'])
      expect(existsSync(join(oneDir, f))).toBe(true);
    const summary = JSON.parse(readFileSync(join(oneDir, 'summary.json'), 'utf8'));
    expect(summary.rounds).toBe(quick.training.rounds);
    expect(summary.logHash).toMatch(/^[0-9a-f]{64}$/);
    const rows = parseMetricsCsv(readFileSync(join(oneDir, 'metrics.csv'), 'utf8'));
    expect(rows).toHaveLength(quick.training.rounds);
  });

  it('learns: training loss falls and test accuracy rises above chance', () => {
    const trained = one.rounds.filter((r) => Number.isFinite(r.trainLoss));
    expect(trained.length).toBeGreaterThanOrEqual(3);
    const first = trained[0]!.trainLoss;
    const last = trained.slice(-2).reduce((s, r) => s + r.trainLoss, 0) / 2;
    expect(last).toBeLessThan(first);
    expect(one.summary.finalAccuracy).toBeGreaterThan(0.2); // chance is 0.1
    expect(one.rounds.at(-1)!.testAccuracy).toBeGreaterThan(one.rounds[0]!.testAccuracy);
  });

  it('runs the server and the evaluator on onnxruntime by default, with the same log hash in-thread (0 workers)', async () => {
    expect(one.summary.backend).toBe('onnxruntime');
    const inline = await runToFolder(quick, { outDir: fresh('w0'), workers: 0 });
    expect(inline.summary.logHash).toBe(one.summary.logHash);
  }, 300_000);

  it('learns the same on wasm: per-round training loss within 1e-5 relative, the same test accuracy (rounding drift only)', async () => {
    const wasm = await runToFolder({ ...quick, runtime: { ...quick.runtime, backend: 'wasm' } }, { outDir: fresh('wasm'), workers: 2 });
    expect(wasm.summary.backend).toBe('wasm');
    expect(wasm.summary.logHash).not.toBe(one.summary.logHash); // another backend rounds differently
    wasm.rounds.forEach((r, i) => {
      const o = one.rounds[i]!;
      expect(Math.abs(o.trainLoss - r.trainLoss) / r.trainLoss).toBeLessThan(1e-5);
      expect(o.testAccuracy).toBe(r.testAccuracy);
    });
  }, 300_000);

  it('gives the same log hash with 2 workers', async () => {
    const two = await runToFolder(quick, { outDir: fresh('w2'), workers: 2 });
    expect(two.summary.logHash).toBe(one.summary.logHash);
    expect(two.rounds.map((r) => r.testAccuracy)).toEqual(one.rounds.map((r) => r.testAccuracy));
  }, 300_000);

  it('replays the recorded channel and data with another policy (a counterfactual)', async () => {
    const outDir = fresh('counterfactual');
    const counter = await replayLog(join(oneDir, 'events.jsonl'), { policy: 'random', outDir, workers: 0 });
    expect(counter.ok).toBe(true);
    const gains = (dir: string) =>
      readEventLog(join(dir, 'events.jsonl'))
        .events.filter((e) => e.type === 'slot-start' && e.from === 'driver')
        .map((e) => `${e.to}:${JSON.stringify(e.payload.value)}`);
    expect(gains(outDir)).toEqual(gains(oneDir));
    const decisions = (dir: string) =>
      readEventLog(join(dir, 'events.jsonl'))
        .events.filter((e) => e.type === 'decision' && e.kind === 'log')
        .map((e) => JSON.stringify(e.payload.value));
    expect(decisions(outDir)).not.toEqual(decisions(oneDir));
    expect(JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')).policy).toBe('random');
  }, 300_000);

  it('replays a log written before runtime.batchDevices existed (one pass per device) with every hash identical', async () => {
    // Prepare: the same run as an earlier version would have logged it: no batchDevices in the header's scenario.
    const recorded = readEventLog(join(oneDir, 'events.jsonl'));
    const header = structuredClone(recorded.header) as EventLogHeader & { scenario: { runtime: Record<string, unknown> } };
    delete header.scenario.runtime['batchDevices'];
    const oldDir = fresh('old-log');
    const writer = new EventLogWriter(header, { path: join(oldDir, 'events.jsonl') });
    writer.append(recorded.events.map(({ hash: _hash, ...record }) => record));
    writer.close();
    // Execute
    const replay = await replayLog(join(oldDir, 'events.jsonl'), { workers: 1 });
    // Assert
    expect(replay.message).toMatch(/every hash matches/);
    expect(replay.ok).toBe(true);
  }, 300_000);

  it('refuses a version-1 log of the built-in simulation with exit 2, naming the version and the release that replays it', async () => {
    // Prepare: test/fixtures/quick-v1-events.jsonl.gz is quick.json's log as commit cba55eb, the last
    // version-1 writer, wrote it on wasm (log hash ec25a44a…). Regenerate: check out cba55eb,
    // `npm run build && node bin/airlora.js run scenarios/quick.json --out DIR`, gzip -9 DIR/events.jsonl.
    // Version 3 runs the round in another message flow (three passes owned by the edge server), so
    // that log's events cannot be produced again here; it still reads.
    const oldDir = fresh('v1-log');
    const file = join(oldDir, 'events.jsonl');
    writeFileSync(file, gunzipSync(readFileSync(join(__dirname, 'fixtures', 'quick-v1-events.jsonl.gz'))));
    const recorded = readEventLog(file);
    expect(recorded.error).toBeUndefined();
    expect(recorded.header?.version).toBe(1);
    expect(recorded.hash).toMatch(/^ec25a44a/);
    // Execute
    const replay = replayLog(file, { workers: 0 });
    // Assert: a ReplayError (exit status 2) that says which version wrote it and how to replay it.
    await expect(replay).rejects.toMatchObject({ name: 'ReplayError', exitCode: 2 });
    await expect(replayLog(file, { workers: 0 })).rejects.toThrow(
      /event log version 1; this release replays version 3 logs[^]*commit cba55eb: git checkout cba55eb && npm ci && npm run build && node bin\/airlora.js replay/,
    );
  });

  it('replays on the recorded backend, and says so when that backend cannot be had', async () => {
    // Prepare: the run's log under a header naming a backend no machine has.
    const recorded = readEventLog(join(oneDir, 'events.jsonl'));
    expect(recorded.header?.backend).toBe(one.summary.backend);
    const dir = fresh('gpu-log');
    const writer = new EventLogWriter({ ...(recorded.header as EventLogHeader), backend: 'gpu' }, { path: join(dir, 'events.jsonl') });
    writer.append(recorded.events.map(({ hash: _hash, ...record }) => record));
    writer.close();
    // Execute, assert
    await expect(replayLog(join(dir, 'events.jsonl'), { workers: 1 })).rejects.toThrow(
      /the header's backend "gpu" is none of onnxruntime, node, wasm, cpu/,
    );
  });

  it('names the first event a replay does not match; for a log written on onnxruntime, that it depends on the CPU', async () => {
    // Prepare: the run's log with one event's payload altered (the chain recomputed, so it reads as a whole log).
    const recorded = readEventLog(join(oneDir, 'events.jsonl'));
    const records = recorded.events.map(({ hash: _hash, ...record }) => record);
    const k = 40;
    records[k] = { ...records[k]!, payload: { ...records[k]!.payload, bits: records[k]!.payload.bits + 1 } };
    const dir = fresh('altered-log');
    const writer = new EventLogWriter(recorded.header as EventLogHeader, { path: join(dir, 'events.jsonl') });
    writer.append(records);
    writer.close();
    // Execute
    const replay = await replayLog(join(dir, 'events.jsonl'), { workers: 1 });
    // Assert: not ok, at the altered event (line k + 2: the header is line 1); the hint exactly when the backend is onnxruntime.
    expect(replay.ok).toBe(false);
    expect(replay.message).toContain(`mismatch at line ${k + 2} (seq ${records[k]!.seq},`);
    expect(replay.message.includes('replays hash for hash only on a CPU with the same vector instructions')).toBe(
      recorded.header?.backend === 'onnxruntime',
    );
  }, 300_000);

  it('writes version-3 logs: tensors digested with XXH64', () => {
    const log = readEventLog(join(oneDir, 'events.jsonl'));
    expect(log.header?.version).toBe(3);
    const summaries = log.events.map((e) => JSON.stringify(e.payload.value));
    expect(summaries.some((v) => /"xxh64":"[0-9a-f]{16}"/.test(v))).toBe(true);
    expect(summaries.some((v) => v.includes('"sha256"'))).toBe(false);
  });

  it('replays the log with every hash identical', async () => {
    const replay = await replayLog(join(oneDir, 'events.jsonl'), { workers: 2 });
    expect(replay.message).toMatch(/every hash matches/);
    expect(replay.ok).toBe(true);
  }, 300_000);
});

describe('quick.json on wasm', () => {
  it('writes the log hash pinned here: wasm computes alike on every machine, so a change that moves a draw, a message or a bit of training shows', async () => {
    // The hash of 46bef98 and later (2026-12-02), the same on two machines of different CPU kinds. Update it only with a change
    // that means to change the log, saying why in that commit.
    const r = await runToFolder({ ...quick, runtime: { ...quick.runtime, backend: 'wasm' } }, { outDir: fresh('wasm-pinned'), workers: 1 });
    expect(r.summary.backend).toBe('wasm');
    expect(r.summary.logHash).toBe('75f41c1b688f516620485cd1293073cedc0566dda7192d81043015f08a3c94de');
  }, 300_000);
});

describe('worker faults on quick.json', () => {
  it('a worker thread that dies mid-round does not change the result', async () => {
    const reference = await runToFolder(quick, { outDir: fresh('nocrash'), workers: 2 });
    const dir = fresh('crash');
    const crashed = await runToFolder(quick, {
      outDir: dir,
      workers: 2,
      crashWorkers: [
        { worker: 1, slot: 2, step: 4 },
        { worker: 0, slot: 5, step: 1 },
      ],
    });
    expect(crashed.summary.logHash).toBe(reference.summary.logHash);
    const written = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(written.runtime.recoveries).toBe(2);
  }, 300_000);
});

describe('multi-adapter batching on quick.json', () => {
  /** quick.json with `shards` shards on one worker, one pass per device and then batched: the model calls and every event of each (hashes aside). */
  const perDeviceAndBatched = async (shards: number) => {
    const withShards = (batchDevices: number) => ({ ...quick, runtime: { ...quick.runtime, shards, batchDevices } });
    const contents = (dir: string) => readEventLog(join(dir, 'events.jsonl')).events.map((e) => JSON.stringify({ ...e, hash: undefined }));
    enableModelTiming(); // counts model calls in the workers started from now on
    const runs = [];
    for (const batchDevices of [1, 8]) {
      const dir = fresh(`shards${shards}-batch${batchDevices}`);
      resetModelTiming();
      await runToFolder(withShards(batchDevices), { outDir: dir, workers: 1 });
      runs.push({ calls: modelTiming().calls, events: contents(dir) });
    }
    const [perDevice, batched] = runs as [(typeof runs)[number], (typeof runs)[number]];
    return { perDevice, batched };
  };

  it('a shard batching its devices gives the same events as one pass per device (bit for bit)', async () => {
    // Prepare / Execute: one shard, so the 3-4 admitted devices of a round share it.
    const { perDevice, batched } = await perDeviceAndBatched(1);
    // Assert: the shard did batch (fewer model calls for the same work), and every event (tensor
    // digests included) is the same; only the header (batchDevices) and so the hash chain differ.
    expect(batched.calls).toBeLessThan(perDevice.calls * 0.9);
    expect(perDevice.events.some((e) => e.includes('"features"'))).toBe(true);
    expect(batched.events).toEqual(perDevice.events);
  }, 300_000);

  it('the shards of one worker batching their devices together give the same events as one pass per device', async () => {
    // Prepare / Execute: four shards on one worker, so that the 3-4 admitted devices of a round are each alone on their shard.
    const { perDevice, batched } = await perDeviceAndBatched(4);
    // Assert: the shards' passes were batched across shards (transitionMailGroup: fewer model calls),
    // and every event is the same; only the header (batchDevices) and so the hash chain differ.
    expect(batched.calls).toBeLessThan(perDevice.calls * 0.9);
    const features = perDevice.events.filter((e) => e.includes('"type":"features"'));
    expect(new Set(features.map((e) => (JSON.parse(e) as { from: string }).from)).size).toBeGreaterThan(1);
    expect(batched.events).toEqual(perDevice.events);
  }, 300_000);
});
