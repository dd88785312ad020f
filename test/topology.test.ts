/**
 * A topology declared in a scenario file: kinds by module path, counts, co-location
 * groups and links; run through the CLI's code path on 0 and 2 workers, with the same event log.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadScenario, parseScenario, ScenarioError } from '../app/scenario';
import { expandTopology, resolveTopologyModule, runTopologyToFolder } from '../app/sim/customTopology';
import { replayLog } from '../app/sim/replay';
import { readEventLog, type EventLogHeader } from '../runtime/eventLog';

const FILE = join(__dirname, 'fixtures', 'toy-cells.json');
// The toy kinds' module as an absolute path, so that a replay (which runs from the log's header) finds it too.
const loaded = loadScenario(FILE);
const scenario = {
  ...loaded,
  topology: {
    ...loaded.topology!,
    actors: loaded.topology!.actors.map((a) => ({ ...a, module: resolveTopologyModule(a.module, dirname(FILE)) })),
  },
};
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));

describe('a topology declared in the scenario', () => {
  it('expands counts and {i} into actors, with groups and links', () => {
    const specs = expandTopology(scenario, __dirname);
    expect(specs.map((s) => s.id)).toEqual([
      'cloud',
      'cellA',
      'cellA.d0',
      'cellA.d1',
      'cellA.d2',
      'cellB',
      'cellB.d0',
      'cellB.d1',
      'cellB.d2',
      'cellB.d3',
    ]);
    expect(specs[3]).toMatchObject({ kind: 'cell-device', placement: { group: 'cellA' }, talksTo: ['cellA'], params: { edge: 'cellA' } });
    expect(specs[0]!.module).toMatch(/fixtures[/\\]toyCells$/);
  });

  it('runs on the runtime with the same log on 0 and 2 workers, and replays', async () => {
    const a = fresh('cells0');
    const b = fresh('cells2');
    const r0 = await runTopologyToFolder(scenario, { outDir: a, workers: 0 });
    const r2 = await runTopologyToFolder(scenario, { outDir: b, workers: 2 });
    expect(r2.logHash).toBe(r0.logHash);
    expect(readFileSync(join(b, 'events.jsonl'), 'utf8')).toBe(readFileSync(join(a, 'events.jsonl'), 'utf8'));
    const mail = readFileSync(join(a, 'mail.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
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
    const bad = {
      topology: {
        actors: [
          { id: 'x', kind: 'k', module: 'm', count: 2 },
          { id: 'x', kind: 'k', module: 'm' },
        ],
      },
    };
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

describe('the built-in simulation as a declared topology (airlora topology)', () => {
  it('prints the actors quick.json runs in the topology format; running the printed file gives the same log hash', async () => {
    // Prepare: `airlora topology scenarios/quick.json > t.json`, through the CLI's code path.
    const { main } = await import('../app/cli');
    const quickFile = join(__dirname, '..', 'scenarios', 'quick.json');
    const printed: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((text: string) => void printed.push(text));
    try {
      expect(await main(['topology', quickFile])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const dir = fresh('printed-topology');
    const file = join(dir, 't.json');
    writeFileSync(file, printed.join('\n'));
    const declared = loadScenario(file);
    // The declaration: kinds, counts, groups, links and params of every actor.
    const quick = loadScenario(quickFile);
    expect(declared.topology?.driver).toBe('simulation');
    const kinds = declared.topology!.actors.map((a) => a.kind);
    expect(kinds.filter((k) => k === 'device')).toHaveLength(quick.devices.count);
    expect(new Set(kinds)).toEqual(new Set(['device', 'shard', 'evaluator', 'server', 'scheduler']));
    const shard0 = declared.topology!.actors.find((a) => a.id === 'shard0')!;
    expect(shard0).toMatchObject({ module: 'airlora:shard', count: 1, group: 'worker-slot-0' });
    expect(declared.topology!.actors.find((a) => a.id === 'd0')!.talksTo).toEqual(
      expect.arrayContaining(['scheduler', 'server', 'shard0']),
    );
    // Execute: both runs for 2 rounds, as `airlora run FILE --rounds 2 --workers 0`.
    const runOf = async (scenarioFile: string, out: string) => {
      const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        expect(await main(['run', scenarioFile, '--rounds', '2', '--workers', '0', '--quiet', '--out', out])).toBe(0);
      } finally {
        quiet.mockRestore();
      }
      return JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { logHash: string };
    };
    const fromScenario = await runOf(quickFile, fresh('from-scenario'));
    const fromTopology = await runOf(file, fresh('from-topology'));
    // Assert
    expect(fromTopology.logHash).toBe(fromScenario.logHash);
  }, 300_000);

  it('a printed topology whose params were edited runs them, and its log says so', async () => {
    const quick = loadScenario(join(__dirname, '..', 'scenarios', 'quick.json'));
    const { planRun } = await import('../app/sim/setup');
    const { declaredTopologyOf } = await import('../app/sim/defaultTopology');
    const topology = declaredTopologyOf(planRun(quick));
    const d0 = topology.actors[0]!;
    const edited = parseScenario({
      ...quick,
      training: { ...quick.training, rounds: 1 },
      topology: { ...topology, actors: [{ ...d0, params: { ...(d0.params as object), cpuHz: 9e8 } }, ...topology.actors.slice(1)] },
    });
    const { runToFolder } = await import('../app/sim/run');
    const out = fresh('edited-topology');
    await runToFolder(edited, { outDir: out, workers: 0 });
    const header = readEventLog(join(out, 'events.jsonl')).header as EventLogHeader & { scenario: { topology?: { driver?: string } } };
    expect(header.scenario.topology?.driver).toBe('simulation');
  }, 300_000);
});
