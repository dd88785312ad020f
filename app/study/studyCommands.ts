/**
 * `airlora study STUDY.json` and `airlora compare SCENARIO --policies a,b,c` (a study over
 * policies): the command-line ends of app/study. Exit status: 0 every run finished; 1 a run
 * failed; 2 bad input; 130 interrupted (the runs in flight checkpointed; the printed command continues).
 */
import { resolve } from 'node:path';
import { loadStudy, type Study } from './studyFile';
import { runStudy, type StudyExecutor, type StudyResult } from './index';
import { figure } from './results';

export interface StudyCommandOptions {
  out?: string;
  parallel?: number;
  workers?: number;
  quiet?: boolean;
  /** Run only this run of the plan (0-based). */
  only?: number;
  /** Another executor than local processes (app/cluster: workers on NATS). */
  execute?: StudyExecutor;
  /** Options that continue the study after an interruption, besides the local ones (e.g. --nats URL). */
  againArgs?: string[];
}

const silent = { isTTY: false, write: () => true };

async function runAndReport(
  study: Study,
  file: string,
  out: string,
  options: StudyCommandOptions,
  continueWith: string,
): Promise<{ code: number; result: StudyResult }> {
  const result = await runStudy(
    study,
    { outDir: out, parallel: options.parallel, workers: options.workers, only: options.only, ...(options.quiet ? { stream: silent } : {}) },
    file,
    options.execute,
  );
  const total = result.plan.runs.length;
  console.log(
    `${result.results.length} of ${total} runs finished (${result.skipped} already, ${result.resumed} resumed, ${result.started} started; ${result.parallel} at once, ${result.workers} worker${result.workers === 1 ? '' : 's'} each)${result.failed.length > 0 ? `, ${result.failed.length} failed` : ''}`,
  );
  for (const f of result.failed) console.error(`failed: ${f.id}: ${f.why}`);
  if (result.results.length > 0) console.log(`tables and report: ${out} (runs.csv, rounds.csv, summary.csv, paired.csv, report.html)`);
  if (result.interrupted) {
    console.error(`study stopped; continue with: ${continueWith}`);
    return { code: 130, result };
  }
  return { code: result.failed.length > 0 ? 1 : 0, result };
}

/** `airlora study STUDY.json [--out DIR] [--parallel N] [--workers N]`. */
export async function commandStudy(file: string, options: StudyCommandOptions): Promise<number> {
  const study = loadStudy(file);
  const out = resolve(options.out ?? `runs/study-${study.name}`);
  const again = [
    'airlora study',
    file,
    '--out',
    out,
    ...(options.parallel ? ['--parallel', String(options.parallel)] : []),
    ...(options.workers !== undefined ? ['--workers', String(options.workers)] : []),
    ...(options.againArgs ?? []),
  ].join(' ');
  return (await runAndReport(study, file, out, options, again)).code;
}

/** Parses a `--set path=value` value as `--set` does: JSON when it can be, else the text. */
function setValue(assignment: string): [string, unknown] {
  const eq = assignment.indexOf('=');
  const raw = assignment.slice(eq + 1);
  try {
    return [assignment.slice(0, eq), JSON.parse(raw)];
  } catch {
    return [assignment.slice(0, eq), raw];
  }
}

export interface CompareOptions extends StudyCommandOptions {
  /** The policies as given on the command line (for the command that continues the study). */
  policies: string[];
  /** The same as scenario values: names, or plug-in specs with absolute paths (default: `policies`). */
  specs?: unknown[];
  seed?: number;
  rounds?: number;
  set?: string[];
}

/** `airlora compare SCENARIO --policies a,b,c`: a study whose grid is the policies, on the scenario's seed (or --seed). */
export async function commandCompare(file: string, options: CompareOptions, scenarioName: string, seed: number): Promise<number> {
  const scenarioFile = resolve(file);
  const policies = options.policies;
  const set = (options.set ?? []).map(setValue);
  if (options.rounds !== undefined) set.push(['training.rounds', options.rounds]);
  const study: Study = {
    name: `${scenarioName}-compare`,
    description: `airlora compare of ${policies.join(', ')} on ${file}`,
    scenarioFile,
    set,
    grid: [['scheduler.policy', [...(options.specs ?? policies)]]],
    seeds: options.seed === undefined ? undefined : [options.seed],
  };
  const out = resolve(options.out ?? `runs/${scenarioName}-compare-seed${seed}`);
  const again = [
    'airlora compare',
    file,
    '--policies',
    policies.join(','),
    ...(options.seed !== undefined ? ['--seed', String(options.seed)] : []),
    ...(options.rounds !== undefined ? ['--rounds', String(options.rounds)] : []),
    ...(options.set ?? []).flatMap((a) => ['--set', a]),
    '--out',
    out,
    ...(options.parallel ? ['--parallel', String(options.parallel)] : []),
    ...(options.workers !== undefined ? ['--workers', String(options.workers)] : []),
  ].join(' ');
  const { code, result } = await runAndReport(study, scenarioFile, out, options, again);
  for (const r of result.results) {
    const f = (name: string) => figure(r, name);
    console.log(
      `${(r.run.cell[0]?.label ?? '').padEnd(14)} accuracy ${(100 * f('finalAccuracy')).toFixed(1)}%  admitted ${f('meanAdmitted').toFixed(2)}  energy ${f('meanEnergyJPerDevice').toFixed(4)} J (max ${f('maxEnergyJPerDevice').toFixed(4)}, budget ${f('energyBudgetJ')})  over budget ${f('devicesOverBudget')}`,
    );
  }
  return code;
}
