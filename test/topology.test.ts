/**
 * A topology declared in a scenario file (issue 2): kinds by module path, counts, co-location
 * groups and links; run through the CLI's code path on 0 and 2 workers, with the same event log.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, parseScenario, ScenarioError } from '../runtime/scenario';
import { expandTopology, runTopologyToFolder } from '../runtime/sim/customTopology';
import { replayLog } from '../runtime/sim/replay';
import { readEventLog, type EventLogHeader } from '../runtime/eventLog';

const FILE = join(__dirname, '..', 'scenarios', 'two-cells.json');
const scenario = loadScenario(FILE);
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));

describe('a topology declared in the scenario', () => {
  it('expands counts and {i} into actors, with groups and links', () => {
    const specs = expandTopology(scenario, __dirname);
    expect(specs.map((s) => s.id)).toEqual(['cloud', 'cellA', 'cellA.d0', 'cellA.d1', 'cellA.d2', 'cellB', 'cellB.d0', 'cellB.d1', 'cellB.d2', 'cellB.d3']);
    expect(specs[3]).toMatchObject({ kind: 'cell-device', placement: { group: 'cellA' }, talksTo: ['cellA'], params: { edge: 'cellA' } });
    expect(specs[0]!.module).toMatch(/actors[/\\]examples[/\\]cells$/);
  });

  it('runs on the runtime with the same log on 0 and 2 workers, and replays', async () => {
    const a = fresh('cells0');
    const b = fresh('cells2');
    const r0 = await runTopologyToFolder(scenario, { outDir: a, workers: 0 });
    const r2 = await runTopologyToFolder(scenario, { outDir: b, workers: 2 });
    expect(r2.logHash).toBe(r0.logHash);
    expect(readFileSync(join(b, 'events.jsonl'), 'utf8')).toBe(readFileSync(join(a, 'events.jsonl'), 'utf8'));
    const mail = readFileSync(join(a, 'mail.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(mail).toHaveLength(scenario.training.rounds);
    expect(mail.every((m) => m.from === 'cloud' && m.type === 'round')).toBe(true);
    const replay = await replayLog(join(a, 'events.jsonl'), { workers: 0 });
    expect(replay.ok).toBe(true);
  }, 120_000);

  it('replays a version-1 log of a declared topology under its own header', async () => {
    // Prepare: a log written under a version-1 header (sha256 payload digests), as older versions wrote it.
    const first = fresh('cells-v2');
    await runTopologyToFolder(scenario, { outDir: first, workers: 0 });
    const header = readEventLog(join(first, 'events.jsonl')).header as EventLogHeader;
    const old = fresh('cells-v1');
    await runTopologyToFolder(scenario, { outDir: old, workers: 0, recordedHeader: { ...header, version: 1 } });
    expect(readEventLog(join(old, 'events.jsonl')).header?.version).toBe(1);
    // Execute
    const replay = await replayLog(join(old, 'events.jsonl'), { workers: 0 });
    // Assert
    expect(replay.message).toMatch(/every hash matches/);
    expect(replay.ok).toBe(true);
  }, 120_000);

  it('rejects a repeated id and a count without {i}, naming the field', () => {
    const bad = { topology: { actors: [{ id: 'x', kind: 'k', module: 'm', count: 2 }, { id: 'x', kind: 'k', module: 'm' }] } };
    let error: ScenarioError | undefined;
    try {
      parseScenario(bad, 'bad.json');
    } catch (e) {
      error = e as ScenarioError;
    }
    expect([...new Set(error?.problems.map((p) => p.field))]).toEqual(['topology.actors[0].id', 'topology.actors[1].id']);
    expect(error?.message).toContain('must contain {i} when count is 2');
  });
});
