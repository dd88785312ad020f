/** The output folder's plumbing shared by every kind of run (INTERFACE.md "What a run writes"). */
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Scenario } from '../scenario';
import type { GainTrace } from '../../channels/trace';
import { pluginHeaderFields } from '../plugins/policySpec';

/** A run that cannot start (bad output folder, bad checkpoint); exit status 2. */
export class RunSetupError extends Error {
  override readonly name = 'RunSetupError';
  readonly exitCode = 2;
}

/** Checks, with a real write, that `dir` can hold a run: a full disk or a read-only folder fails here, before the run. */
export function ensureWritable(dir: string): void {
  try {
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    const probe = join(dir, '.write-probe');
    writeFileSync(probe, Buffer.alloc(64 * 1024)); // a real write: a full disk fails here, not an hour later
    unlinkSync(probe);
  } catch (cause) {
    throw new RunSetupError(`output folder ${dir} is not writable (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
}

/** Writes `text` to `file` atomically: a crash mid-write leaves the previous file intact. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * The log header: the scenario without its worker count (nor its host timeout), so the log is the
 * same whatever the number of workers or where they run; a module policy's digest.
 */
export function headerOf(scenario: Scenario, backend: string, trace?: GainTrace) {
  const { hostTimeoutS: _notOfTheRun, ...runtime } = scenario.runtime;
  return {
    scenario: { ...scenario, runtime: { ...runtime, workers: 0 } },
    seed: scenario.seed,
    backend,
    policy: scenario.scheduler.policy,
    ...pluginHeaderFields(scenario),
    ...(trace ? { trace: trace.file } : {}),
  };
}

/** Worker threads of a run: the command line's choice, else the scenario's, where 0 means one per core. */
export function workerCount(scenario: Scenario, requested?: number): number {
  return requested ?? (scenario.runtime.workers || Math.max(1, availableParallelism()));
}
