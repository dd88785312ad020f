/**
 * A multi-cell system with real training: scenarios/two-cells.json, two cells
 * with their own geometry, band, fading, Lyapunov scheduler and edge server, under a cloud that
 * merges the edge servers' models every H rounds over the backhaul. Both cells learn, each
 * device's energy stays within its budget, the merges are in the event log, and the log replays
 * hash for hash on another worker count (1 worker recorded, 2 replayed: the same log).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, parseScenario, ScenarioError } from '../app/scenario';
import { runCellsToFolder, type CellsRunResult } from '../app/sim/cells';
import { replayLog } from '../app/sim/replay';
import { energyToleranceJ } from '../app/sim/summary';
import { readEventLog, type LogEvent } from '../runtime/eventLog';
import { backhaulTransfer, weightBits } from '../channels/backhaul';
import { mergeEdges } from '../actors/cloud';
import type { EdgeModel } from '../actors/roundMessages';

const FILE = join(__dirname, '..', 'scenarios', 'two-cells.json');
const system = loadScenario(FILE);
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));
const CHANCE = 0.1; // ten digit classes

describe('a two-cell system with real training (scenarios/two-cells.json)', () => {
  let run: CellsRunResult;
  let dir: string;
  let events: LogEvent[];

  beforeAll(async () => {
    dir = fresh('cells-w1');
    run = await runCellsToFolder(system, { outDir: dir, workers: 1 });
    events = readEventLog(join(dir, 'events.jsonl')).events;
  }, 300_000);

  it('both cells learn: accuracy well above chance, training loss down', () => {
    expect(Object.keys(run.cells)).toEqual(['A', 'B']);
    for (const [name, cell] of Object.entries(run.cells)) {
      const rounds = cell.rounds;
      expect(rounds).toHaveLength(system.training.rounds);
      const first = rounds[0]!;
      const last = rounds[rounds.length - 1]!;
      expect({ cell: name, above: last.testAccuracy > 2 * CHANCE }).toEqual({ cell: name, above: true });
      expect(last.testAccuracy).toBeGreaterThan(first.testAccuracy);
      expect(last.trainLoss).toBeLessThan(first.trainLoss - 0.3);
      expect(existsSync(join(dir, `metrics-${name}.csv`))).toBe(true);
    }
  });

  it("keeps each device's energy within its budget under the Lyapunov policy", () => {
    for (const [name, cell] of Object.entries(run.cells)) {
      const s = cell.summary;
      const T = cell.rounds.length;
      expect(s.policy).toBe('lyapunov');
      expect({ cell: name, over: s.devicesOverBudget }).toEqual({ cell: name, over: 0 });
      expect(s.maxEnergyJPerDevice).toBeLessThanOrEqual(s.energyBudgetJ + energyToleranceJ(T));
      // The queue dynamics (MODEL.md §6): (1/T) Σ_t E_k ≤ Ē_k + Q_k(T)/T for every device of the cell.
      const queues = cell.rounds[T - 1]!.queues;
      const spent = new Array<number>(s.devices).fill(0);
      for (const r of cell.rounds) for (const [id, e] of Object.entries(r.energyJ)) spent[Number(id.slice(1))]! += e;
      spent.forEach((e, k) => expect(e / T).toBeLessThanOrEqual(s.energyBudgetJ + queues[k]! / T + 1e-12));
      // The devices did spend energy: the budget was a real constraint, not an idle cell.
      expect(Math.max(...spent)).toBeGreaterThan(0);
    }
  });

  it("logs the cloud's merges every H rounds, and each cell continues from the merged model", () => {
    const H = system.cloud!.everyRounds;
    const mergeRounds = Array.from({ length: system.training.rounds }, (_, t) => t).filter((t) => (t + 1) % H === 0);
    const logged = events.filter((e) => e.from === 'cloud' && e.type === 'cloud-merge');
    expect(logged.map((e) => (e.payload.value as { round: number }).round)).toEqual(mergeRounds);
    expect(run.merges.map((m) => m.round)).toEqual(mergeRounds);
    // Up the backhaul from both edge servers, back down to both.
    for (const server of ['A.server', 'B.server']) {
      expect(events.filter((e) => e.type === 'edge-model' && e.from === server && e.to === 'cloud')).toHaveLength(mergeRounds.length);
      expect(events.filter((e) => e.type === 'cloud-model' && e.from === 'cloud' && e.to === server)).toHaveLength(mergeRounds.length);
    }
    const link = system.cloud!.backhaul;
    for (const m of run.merges) {
      expect(m.cells.map((c) => c.server)).toEqual(['A.server', 'B.server']);
      for (const c of m.cells) {
        expect(c.samples).toBeGreaterThan(0);
        expect(c.downT).toBeCloseTo(m.mergedT + link.latencyS + c.downBits / link.rateBps, 12);
        expect(c.upT).toBeLessThanOrEqual(m.mergedT);
      }
      // After a merge both edge servers hold the one merged model: their evaluators score the same test set alike.
      const a = run.cells['A']!.rounds[m.round]!;
      const b = run.cells['B']!.rounds[m.round]!;
      expect(a.testAccuracy).toBe(b.testAccuracy);
    }
    // Cells talk to each other only through the cloud.
    const cellOf = (id: string) => /^([AB])\./.exec(id)?.[1] ?? null;
    for (const e of events) {
      const from = cellOf(e.from);
      const to = cellOf(e.to);
      if (from && to) expect(`${e.from} → ${e.to}: ${from === to}`).toBe(`${e.from} → ${e.to}: true`);
    }
  });

  it('replays hash for hash, on 2 workers a log recorded on 1: the same log whatever the worker count', async () => {
    const again = fresh('cells-replay-w2');
    const replay = await replayLog(join(dir, 'events.jsonl'), { workers: 2, outDir: again });
    expect(replay.message).toMatch(/every hash matches/);
    expect(replay.ok).toBe(true);
    expect(readEventLog(join(again, 'events.jsonl')).hash).toBe(run.logHash);
    expect(readFileSync(join(again, 'events.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'events.jsonl'), 'utf8'));
  }, 300_000);
});

describe('the cloud merge and the backhaul, by hand', () => {
  it('charges L + s/R on the backhaul', () => {
    expect(backhaulTransfer(1e6, { rateBps: 1e8, latencyS: 0.01 }).delayS).toBeCloseTo(0.02, 15);
    expect(weightBits({ a: new Float32Array(3), b: new Float32Array(5) }, 32)).toBe(256);
    expect(() => backhaulTransfer(1, { rateBps: 0, latencyS: 0 })).toThrow(/rate/);
  });

  it('merges the edge models weighted by their samples (hierarchical FedAvg)', () => {
    const edge = (x: number, samples: number): EdgeModel => ({
      round: 1,
      samples,
      readyT: 0,
      lora: { 'q/A': new Float32Array([x]), 'q/B': new Float32Array([2 * x]) },
      head: { w: new Float32Array([x, -x]) },
    });
    const merged = mergeEdges(['A.server', 'B.server'], { 'A.server': edge(1, 1), 'B.server': edge(5, 3) }, 'fedavg', 1);
    // (1·1 + 3·5) / 4 = 4.
    expect(Array.from(merged.lora['q/A']!)).toEqual([4]);
    expect(Array.from(merged.lora['q/B']!)).toEqual([8]);
    expect(Array.from(merged.head['w']!)).toEqual([4, -4]);
    // No samples anywhere since the last merge: equal weights.
    expect(
      Array.from(mergeEdges(['A.server', 'B.server'], { 'A.server': edge(1, 0), 'B.server': edge(5, 0) }, 'fedavg', 1).head['w']!),
    ).toEqual([3, -3]);
  });
});

describe('cells in the scenario file: clear errors naming the field', () => {
  const fields = (input: unknown) => {
    try {
      parseScenario(input, 'cells.json');
    } catch (e) {
      if (e instanceof ScenarioError) return e.problems.map((p) => p.field);
      throw e;
    }
    return [];
  };
  const cell = (name: string, extra: object = {}) => ({ name, devices: { count: 3 }, scheduler: { randomCount: 2 }, ...extra });

  it('needs a cloud with cells, and cells with a cloud', () => {
    expect(fields({ cells: [cell('A'), cell('B')] })).toEqual(['cloud']);
    expect(fields({ cloud: { everyRounds: 2 } })).toEqual(['cloud']);
  });

  it('names a repeated cell, a bad name, a fault on a device the cell lacks, an unknown field', () => {
    const bad = {
      cloud: { everyRounds: 0, backhaul: { rateBps: -1 } },
      cells: [
        cell('A'),
        cell('A'),
        cell('1x'),
        cell('C', { faults: { silentWindows: [{ device: 3, fromSlot: 0, toSlot: 1 }] } }),
        cell('D', { band: 1 }),
      ],
    };
    expect(fields(bad).sort()).toEqual(
      [
        'cells[1].name',
        'cells[2].name',
        'cells[3].faults.silentWindows[0].device',
        'cells[4].band',
        'cloud.backhaul.rateBps',
        'cloud.everyRounds',
      ].sort(),
    );
  });
});
