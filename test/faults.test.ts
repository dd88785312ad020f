/**
 * Device faults from the scenario: dropout, a silent window and a link outage each show in
 * the log and the metrics, and the run goes on. In-process (workers: 0) on a small cell.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, parseScenario } from '../app/scenario';
import { runToFolder } from '../app/sim/run';
import { readEventLog } from '../runtime/eventLog';

const quick = loadScenario(join(__dirname, '..', 'scenarios', 'quick.json'));

describe('device faults', () => {
  it('dropouts, silent windows and link outages are logged, counted, and the run goes on', async () => {
    const scenario = parseScenario({
      ...quick,
      training: { ...quick.training, rounds: 6, localIterations: 1 },
      faults: {
        dropoutProbability: 0.3,
        silentWindows: [{ device: 1, fromSlot: 1, toSlot: 3 }],
        linkOutages: [{ device: 2, fromSlot: 0, toSlot: 5 }],
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'airlora-faults-'));
    const result = await runToFolder(scenario, { outDir: dir, workers: 0 });
    expect(result.rounds).toHaveLength(6);

    // Link outage: d2 has gain 0 all run, so it is never admitted.
    expect(result.rounds.every((r) => !r.admitted.includes('d2'))).toBe(true);
    // Silent window: d1 sends no report in slots 1..3, the decision lists it as unavailable, and it is not admitted.
    const log = readEventLog(join(dir, 'events.jsonl'));
    expect(log.error).toBeUndefined();
    const decisions = log.events.filter((e) => e.kind === 'log' && e.type === 'decision');
    expect(decisions).toHaveLength(6);
    for (const e of decisions) {
      const v = e.payload.value as { slot: number; unavailable: string[]; admitted: string[] };
      if (v.slot >= 1 && v.slot <= 3) {
        expect(v.unavailable).toContain('d1');
        expect(v.admitted).not.toContain('d1');
      } else expect(v.unavailable).not.toContain('d1');
    }
    const reportsFromD1 = log.events.filter((e) => e.type === 'queue-report' && e.from === 'd1').map((e) => e.slot);
    expect(reportsFromD1).toEqual([0, 4, 5]);
    // Dropouts: admitted devices that dropped are failures of their round, not aggregated.
    const dropped = result.rounds.flatMap((r) => Object.entries(r.failures).filter(([, why]) => why === 'dropout'));
    expect(dropped.length).toBeGreaterThan(0);
    for (const r of result.rounds) for (const id of Object.keys(r.failures)) expect(r.admitted).toContain(id);
  }, 300_000);
});
