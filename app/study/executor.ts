/**
 * Runs a study's plan on local processes: each run is a child running the same code as
 * `airlora run` (or `airlora resume` for a run with a checkpoint) in its own folder, so it is an
 * ordinary, replayable run whose log depends on its scenario alone. Finished runs are skipped.
 * SIGINT stops the runs in flight at their next slot (they checkpoint) and starts no more.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressStream } from '../report';
import { formatDurationS } from '../report';
import type { StudyPlan, StudyRun } from './plan';
import { runState, type RunState } from './runState';
import { readRunResult, type RunResult } from './results';
import { createStudyProgress } from './studyProgress';

export interface ExecuteOptions {
  /** The study folder; each run gets `outDir/runs/<id>`. */
  outDir: string;
  /** Runs at once (default: the cores over the workers per run). */
  parallel?: number;
  /** Worker threads per run (default: the cores over `parallel`, at least 1). */
  workers?: number;
  /** Progress output (default stdout; a plain line per run when it is not a terminal). */
  stream?: ProgressStream;
  /** Run only the run at this index of the plan (0-based; a job array's task). */
  only?: number;
}

export interface ExecuteOutcome {
  /** Results of every finished run of the plan, in plan order (this start's and earlier ones'). */
  results: RunResult[];
  /** Runs this start executed: started fresh, resumed from a checkpoint. */
  started: number;
  resumed: number;
  /** Runs that were already finished. */
  skipped: number;
  failed: { id: string; why: string }[];
  /** True when SIGINT stopped the study before every run finished. */
  interrupted: boolean;
  parallel: number;
  workers: number;
}

/** The folder of one run of a study. */
export function runDir(outDir: string, run: StudyRun): string {
  return join(outDir, 'runs', run.id);
}

/**
 * Runs at once and worker threads per run, so that together they do not exceed the cores: by
 * default one worker per run and a run per core (runs scale better than threads within a run).
 */
export function sizeStudy(
  requested: { parallel?: number; workers?: number },
  cores = availableParallelism(),
): { parallel: number; workers: number } {
  const parallel = requested.parallel ?? Math.max(1, Math.floor(cores / Math.max(1, requested.workers ?? 1)));
  const workers = requested.workers ?? Math.max(1, Math.floor(cores / parallel));
  return { parallel, workers };
}

/** The child entry: the build's, or the source through tsx when running from sources (jest). */
function childEntry(): { file: string; execArgv: string[] } {
  return __filename.endsWith('.ts')
    ? { file: join(__dirname, 'child.ts'), execArgv: ['--import', 'tsx'] }
    : { file: join(__dirname, 'child.js'), execArgv: [] };
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Forks the run child (child.ts) with `args` (an `airlora run`/`resume` command line), its output captured. */
export function forkRunChild(args: string[]): { child: ChildProcess; exited: Promise<ChildExit> } {
  const entry = childEntry();
  const child = fork(entry.file, args, { execArgv: entry.execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, exited: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, output }))) };
}

/**
 * Executes one run in `dir` as a study does: `airlora resume` from its checkpoint when it has one
 * (starting over when that checkpoint is unusable), else `airlora run` on its resolved scenario,
 * written first into the folder. `spawnChild` forks the child (forkRunChild, watched by the caller).
 */
export async function runInFolder(
  run: Pick<StudyRun, 'scenario'>,
  dir: string,
  workers: number,
  spawnChild: (args: string[]) => Promise<ChildExit>,
  stopping: () => boolean,
): Promise<{ exit: ChildExit; resumed: boolean; started: boolean }> {
  let state = runState(dir);
  const w = String(workers);
  let exit: ChildExit | undefined;
  const resumed = state.state === 'resume';
  if (state.state === 'resume') {
    exit = await spawnChild(['resume', dir, '--quiet', '--workers', w]);
    // A checkpoint that cannot be used (exit 2) is not fatal: the run starts over.
    if (exit.code === 2 && !stopping()) state = { state: 'start', why: 'unusable checkpoint' };
  }
  const started = state.state === 'start';
  if (state.state === 'start') {
    rmSync(dir, { recursive: true, force: true }); // a partial attempt without a checkpoint
    mkdirSync(dir, { recursive: true });
    // The resolved scenario first: the run is reproducible from its folder alone.
    const scenarioFile = join(dir, 'scenario.json');
    writeFileSync(scenarioFile, `${JSON.stringify(run.scenario, null, 2)}\n`);
    exit = await spawnChild(['run', scenarioFile, '--out', dir, '--quiet', '--workers', w]);
  }
  return { exit: exit as ChildExit, resumed, started };
}

/** Why a run child did not leave a finished run (its exit status, the folder's state, its error line or else its last output lines). */
export function failureReason(exit: ChildExit, after: RunState): string {
  const lines = exit.output.trim().split('\n');
  const error = lines.filter((l) => /^(\w*Error\b|airlora:)/.test(l)).pop();
  return `exit ${exit.code ?? exit.signal}${exit.code === 0 ? `, but ${after.state === 'finished' ? '' : after.why}` : ''}: ${error ?? lines.slice(-3).join(' / ')}`;
}

/** The outcome of a study's execution before any run of it has ended: `skipped` runs were finished already. */
export function freshOutcome(skipped: number, parallel: number, workers: number): ExecuteOutcome {
  return { results: [], started: 0, resumed: 0, skipped, failed: [], interrupted: false, parallel, workers };
}

/** Executes the plan (see the file comment). */
export async function executeStudy(plan: StudyPlan, options: ExecuteOptions): Promise<ExecuteOutcome> {
  const states = new Map<string, RunState>(plan.runs.map((r) => [r.id, runState(runDir(options.outDir, r))]));
  const todo = plan.runs.filter((r, i) => states.get(r.id)?.state !== 'finished' && (options.only === undefined || i === options.only));
  const finishedIds = new Set(plan.runs.filter((r) => states.get(r.id)?.state === 'finished').map((r) => r.id));
  const { parallel, workers } = sizeStudy(options);
  const progress = createStudyProgress({
    total: plan.runs.length,
    finishedBefore: finishedIds.size,
    ...(options.stream ? { stream: options.stream } : {}),
  });
  const outcome = freshOutcome(finishedIds.size, parallel, workers);
  const children = new Set<ReturnType<typeof fork>>();
  let stopping = false;
  const onSigint = () => {
    stopping = true;
    for (const c of children) c.kill('SIGINT');
  };

  const spawnChild = (args: string[]): Promise<ChildExit> => {
    const { child, exited } = forkRunChild(args);
    children.add(child);
    return exited.finally(() => children.delete(child));
  };

  const execute = async (run: StudyRun): Promise<void> => {
    const dir = runDir(options.outDir, run);
    progress.started(run.id);
    const { exit, resumed, started } = await runInFolder(run, dir, workers, spawnChild, () => stopping);
    if (resumed) outcome.resumed += 1;
    if (started) outcome.started += 1;
    const after = runState(dir);
    if (exit.code === 0 && after.state === 'finished') {
      const result = readRunResult(run, dir);
      finishedIds.add(run.id);
      progress.ended(run.id, 'finished', `${formatDurationS(Number(result.summary.wallS))} of wall time`);
    } else if (exit.code === 130 || (stopping && exit.signal === 'SIGINT')) {
      progress.ended(run.id, 'stopped', 'interrupted; its checkpoint continues it');
    } else {
      const why = failureReason(exit, after);
      outcome.failed.push({ id: run.id, why });
      progress.ended(run.id, 'failed', why);
    }
  };

  process.on('SIGINT', onSigint);
  try {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (!stopping && next < todo.length) await execute(todo[next++] as StudyRun);
    };
    await Promise.all(Array.from({ length: Math.min(parallel, Math.max(1, todo.length)) }, lane));
  } finally {
    process.off('SIGINT', onSigint);
  }
  progress.done();
  outcome.interrupted = stopping && finishedIds.size < plan.runs.length;
  // With --only, the other runs are other processes' (a job array's tasks): read how they stand now.
  if (options.only !== undefined)
    for (const r of plan.runs) if (runState(runDir(options.outDir, r)).state === 'finished') finishedIds.add(r.id);
  for (const r of plan.runs) if (finishedIds.has(r.id)) outcome.results.push(readRunResult(r, runDir(options.outDir, r)));
  return outcome;
}
