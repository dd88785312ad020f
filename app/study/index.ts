/**
 * Studies (README "Studies"): many runs over a grid of parameters and seeds, in parallel,
 * resumable, with confidence intervals. File format (studyFile.ts), plan (plan.ts), execution
 * (executor.ts), statistics (stats.ts), tables and report (tables.ts, report.ts, outputs.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunSetupError } from '../sim/runFolder';
import { executeStudy, type ExecuteOptions, type ExecuteOutcome } from './executor';
import { planStudy, type StudyPlan } from './plan';
import { writeStudyOutputs } from './studyOutputs';
import { StudyError, type Study } from './studyFile';

export { loadStudy, parseStudy, StudyError, type Study, type StudyInput, type StudyProblem } from './studyFile';
export { planStudy, valueLabel, scenarioDigest, type StudyPlan, type StudyRun, type GridValue } from './plan';
export { executeStudy, sizeStudy, runDir, type ExecuteOptions, type ExecuteOutcome } from './executor';
export { tInterval, pairedInterval, CONFIDENCE, type Interval } from './stats';
export { runsTable, roundsTable, summaryTable, pairedTable, POLICY_FIELD, type Table } from './tables';
export { STUDY_FILES, writeStudyOutputs } from './studyOutputs';
export { runState, type RunState } from './runState';

/** What runs a study's plan: local child processes (executeStudy) or workers on NATS (app/cluster). */
export type StudyExecutor = (plan: StudyPlan, options: ExecuteOptions) => Promise<ExecuteOutcome>;

export interface StudyResult extends ExecuteOutcome {
  plan: StudyPlan;
}

/**
 * Plans, runs (skipping finished runs, resuming interrupted ones) and writes the study's tables
 * and report into `options.outDir`, from every run finished so far. `file` names the study in errors.
 */
export async function runStudy(
  study: Study,
  options: ExecuteOptions,
  file = '<study>',
  execute: StudyExecutor = executeStudy,
): Promise<StudyResult> {
  const plan = planStudy(study, file);
  if (options.only !== undefined && options.only >= plan.runs.length)
    throw new StudyError(file, [
      { field: '--only', rule: `is ${options.only}, but the study has ${plan.runs.length} runs (0 to ${plan.runs.length - 1})` },
    ]);
  // The study as resolved (which runs it has and what each one varies), written first: an unwritable folder fails here.
  const description = {
    ...study,
    runs: plan.runs.map((r) => ({
      id: r.id,
      seed: r.seed,
      cell: Object.fromEntries(r.cell.map((g) => [g.field, g.value])),
      digest: r.digest,
    })),
  };
  try {
    mkdirSync(join(options.outDir, 'runs'), { recursive: true });
    writeFileSync(join(options.outDir, 'study.json'), `${JSON.stringify(description, null, 2)}\n`);
  } catch (cause) {
    throw new RunSetupError(`study folder ${options.outDir} is not writable (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, {
      cause,
    });
  }
  const outcome = await execute(plan, options);
  // One run of a job array writes the tables only once every run is in: its peers finish in any order.
  const complete = options.only === undefined || outcome.results.length === plan.runs.length;
  if (outcome.results.length > 0 && complete) await writeStudyOutputs(plan, outcome.results, options.outDir);
  return { ...outcome, plan };
}
