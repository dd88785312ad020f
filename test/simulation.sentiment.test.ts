/**
 * End to end on scenarios/quick-sentiment.json: the text task through the worker pool
 * (20 rounds, about 10 s): accuracy clearly above chance, and the log replays with every hash identical.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../app/scenario';
import { runToFolder } from '../app/sim/run';
import { replayLog } from '../app/sim/replay';
import { readEventLog } from '../runtime/eventLog';

const quick = loadScenario(join(__dirname, '..', 'scenarios', 'quick-sentiment.json'));
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));

describe('simulation on quick-sentiment.json', () => {
  it('learns the text task clearly above chance and replays hash for hash', async () => {
    // Prepare
    const dir = fresh('sentiment');
    // Execute
    const run = await runToFolder(quick, { outDir: dir, workers: 2 });
    const replay = await replayLog(join(dir, 'events.jsonl'), { workers: 1 });
    // Assert
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    const header = readEventLog(join(dir, 'events.jsonl')).header as { scenario: { model: { task: string } } };
    expect(header.scenario.model.task).toBe('sentiment');
    expect(run.summary.rounds).toBe(20);
    expect(run.summary.finalAccuracy).toBeGreaterThan(0.7); // chance is 0.5
    expect(run.rounds.at(-1)!.testAccuracy).toBeGreaterThan(run.rounds[0]!.testAccuracy);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.logHash).toBe(run.summary.logHash);
    expect(replay.message).toMatch(/every hash matches/);
    expect(replay.ok).toBe(true);
  }, 300_000);
});
