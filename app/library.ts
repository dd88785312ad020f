/**
 * The library's entry to a simulation (INTERFACE.md "Library"): `run` takes a scenario object (every
 * field optional, as in a file), with plug-ins given as module paths or commands, and writes the
 * run's folder exactly as `airlora run` does.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseScenario, type ScenarioInput } from './scenario';
import { resumeFolder, runToFolder, type RunOptions, type RunResult } from './sim/run';
import { runCellsToFolder, type CellsRunOptions, type CellsRunResult } from './sim/cells';

export interface LibraryRunOptions extends Omit<RunOptions, 'outDir'> {
  /** The run's folder (events.jsonl, metrics.csv, summary.json, report.html, checkpoints/); default: a fresh temporary folder. */
  outDir?: string;
  /** Relative plug-in paths (a policy module, a process's cwd) are resolved against it; default: the working directory. */
  baseDir?: string;
}

/** A finished (or interrupted) run and where it was written. */
export interface LibraryRunResult extends RunResult {
  outDir: string;
}

/** Validates `scenario` (ScenarioError names every bad field) and runs it (MODEL.md §2). */
export async function run(scenario: ScenarioInput, options: LibraryRunOptions = {}): Promise<LibraryRunResult> {
  const { outDir, baseDir, ...rest } = options;
  const valid = parseScenario(scenario, '<run>', resolve(baseDir ?? '.'));
  const dir = resolve(outDir ?? mkdtempSync(join(tmpdir(), `airlora-${valid.name}-`)));
  return { ...(await runToFolder(valid, { ...rest, outDir: dir })), outDir: dir };
}

/** Continues the interrupted run in `outDir` from its last checkpoint (`airlora resume`). */
export async function resume(outDir: string, options: Omit<RunOptions, 'outDir'> = {}): Promise<LibraryRunResult> {
  const dir = resolve(outDir);
  return { ...(await resumeFolder(dir, options)), outDir: dir };
}

/** Validates a multi-cell `scenario` (its `cells` and `cloud` sections) and runs the system (README "Several cells"). */
export async function runCells(
  scenario: ScenarioInput,
  options: Partial<CellsRunOptions> = {},
): Promise<CellsRunResult & { outDir: string }> {
  const { outDir, ...rest } = options;
  const valid = parseScenario(scenario, '<runCells>');
  const dir = resolve(outDir ?? mkdtempSync(join(tmpdir(), `airlora-${valid.name}-`)));
  return { ...(await runCellsToFolder(valid, { ...rest, outDir: dir })), outDir: dir };
}
