/**
 * `airlora compare` (INTERFACE.md): the scenario once per policy with the same seed, so every policy
 * sees the same cell, channel draws and data shards; one report puts them side by side.
 */
import { join } from 'node:path';
import type { PolicyName, Scenario } from '../scenario';
import type { RunSummary } from '../metrics';
import { writeReport } from '../report';
import { runToFolder, type RunOptions } from './run';

export async function compareToFolder(scenario: Scenario, policies: readonly PolicyName[], options: Omit<RunOptions, 'outDir'> & { outDir: string }): Promise<RunSummary[]> {
  const runs = [];
  for (const policy of policies) {
    const s: Scenario = { ...scenario, scheduler: { ...scenario.scheduler, policy } };
    if (options.progress) console.log(`policy ${policy}:`);
    const result = await runToFolder(s, { ...options, outDir: join(options.outDir, policy) });
    runs.push({ summary: result.summary, rounds: result.rounds });
    if (result.interrupted) break;
  }
  await writeReport(options.outDir, runs, { title: `${scenario.name}: ${policies.join(' vs ')}` });
  return runs.map((r) => r.summary);
}
