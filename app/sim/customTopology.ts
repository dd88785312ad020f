/**
 * A scenario's own topology (README "Your own topology"): the actor kinds, counts and links
 * a user lists under `topology`, run on the same runtime as the built-in simulation, for
 * `training.rounds` slots of the slot clock, each lasting `training.deadlineS` virtual seconds.
 * It writes events.jsonl (the same log format), mail.jsonl (what the actors sent the driver, per
 * slot) and summary.json.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Scenario } from '../scenario';
import { createRuntime, summarizePayload, type ActorSpec, type EventLogHeader } from '../../runtime/system';
import { canonicalJson } from '../../runtime/canonical';
import { ensureWritable, headerOf, workerCount, writeAtomic } from './runFolder';

/** Where `airlora:NAME` modules live: the package's actors folder (source or build alike). */
const SHIPPED = join(__dirname, '..', '..', 'actors');

/** Resolves a topology module: `airlora:NAME`, absolute, or relative to `baseDir` (the scenario file's folder). */
export function resolveTopologyModule(module: string, baseDir: string): string {
  if (module.startsWith('airlora:')) return join(SHIPPED, module.slice('airlora:'.length));
  return isAbsolute(module) ? module : resolve(baseDir, module);
}

/** Expands the declared topology into actor specs (`{i}` in ids and groups is the index). */
export function expandTopology(scenario: Scenario, baseDir: string): ActorSpec[] {
  const declared = scenario.topology?.actors ?? [];
  return declared.flatMap((a) =>
    Array.from({ length: a.count }, (_, i): ActorSpec => {
      const fill = (text: string) => text.replaceAll('{i}', String(i));
      return {
        id: fill(a.id),
        kind: a.kind,
        module: resolveTopologyModule(a.module, baseDir),
        ...(a.params !== undefined ? { params: a.params } : {}),
        ...(a.group ? { placement: { group: fill(a.group) } } : {}),
        ...(a.supervisor ? { supervisor: a.supervisor } : {}),
        ...(a.tick !== undefined ? { tick: a.tick } : {}),
        ...(a.talksTo ? { talksTo: a.talksTo.map(fill) } : {}),
      };
    }),
  );
}

export interface TopologyRunResult {
  slots: number;
  logHash: string;
  events: number;
  wallS: number;
}

/** Runs the scenario's declared topology into `outDir`. */
export async function runTopologyToFolder(
  scenario: Scenario,
  options: { outDir: string; workers?: number; baseDir?: string; recordedHeader?: EventLogHeader },
): Promise<TopologyRunResult> {
  ensureWritable(options.outDir);
  const started = Date.now(); // the simulator's own cost only
  const topology = expandTopology(scenario, options.baseDir ?? process.cwd());
  const runtime = await createRuntime({
    seed: scenario.seed,
    workers: workerCount(scenario, options.workers),
    topology,
    // Replay writes the recorded header as it is (its version decides the payload digests).
    log: { path: join(options.outDir, 'events.jsonl'), header: options.recordedHeader ?? headerOf(scenario, 'none') },
  });
  const mailFile = join(options.outDir, 'mail.jsonl');
  writeFileSync(mailFile, '');
  try {
    for (let slot = 0; slot < scenario.training.rounds; slot++) {
      const r = await runtime.runSlot(slot, { t: slot * scenario.training.deadlineS });
      const lines = r.mail.map((m) =>
        canonicalJson({ slot, seq: m.seq, t: m.t, from: m.from, type: m.type, payload: summarizePayload(m.body, runtime.payloadDigest) }),
      );
      if (lines.length > 0) appendFileSync(mailFile, `${lines.join('\n')}\n`);
    }
  } finally {
    await runtime.close();
  }
  const stats = runtime.stats();
  const result: TopologyRunResult = {
    slots: scenario.training.rounds,
    logHash: runtime.logHash,
    events: stats.events,
    wallS: (Date.now() - started) / 1000,
  };
  writeAtomic(
    join(options.outDir, 'summary.json'),
    `${JSON.stringify({ scenario: scenario.name, topology: topology.length, ...result, runtime: stats }, null, 2)}\n`,
  );
  return result;
}
