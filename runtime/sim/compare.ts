/**
 * `airlora compare` (INTERFACE.md): the scenario once per policy with the same seed, so every policy
 * sees the same cell, channel draws and data shards; one report puts them side by side.
 */
import { join } from 'node:path';
import type { PolicySpec, Scenario } from '../scenario';
import { policyLabel } from '../plugins/policySpec';
import type { RunSummary } from '../metrics';
import { writeReport } from '../report';
import { runToFolder, type RunOptions } from './run';

export async function compareToFolder(scenario: Scenario, policies: readonly PolicySpec[], options: Omit<RunOptions, 'outDir'> & { outDir: string }): Promise<RunSummary[]> {
  const runs = [];
  const labels = policies.map(policyLabel);
  for (const [i, policy] of policies.entries()) {
    const s: Scenario = { ...scenario, scheduler: { ...scenario.scheduler, policy } };
    // One folder per policy, by its label (numbered when two plug-ins share a name).
    const label = labels.indexOf(labels[i]!) === i ? labels[i]! : `${labels[i]}-${i}`;
    if (options.progress) console.log(`policy ${label}:`);
    const result = await runToFolder(s, { ...options, outDir: join(options.outDir, label) });
    runs.push({ summary: result.summary, rounds: result.rounds });
    if (result.interrupted) break;
  }
  await writeReport(options.outDir, runs, { title: `${scenario.name}: ${labels.join(' vs ')}` });
  return runs.map((r) => r.summary);
}
