/**
 * A study's plan: the grid's cartesian product times the seeds, each run's scenario resolved
 * (base file, then `set`, then the grid's values, then the seed, through the same override as
 * `--set`) and validated, and its folder named by a readable id plus a digest of that scenario.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { applyOverride, parseScenario, ScenarioError, type Scenario } from '../scenario';
import { canonicalJson, sha256Hex } from '../../runtime/canonical';
import { StudyError, type Study, type StudyProblem } from './studyFile';

/** One grid field's value in a run: the JSON value given, and the readable label it is listed under. */
export interface GridValue {
  field: string;
  value: unknown;
  label: string;
}

export interface StudyRun {
  /** The run's folder name: readable, then the first 10 hex digits of `digest`. */
  id: string;
  /** Index of the grid cell (in grid order); runs of one cell differ only by seed. */
  cellIndex: number;
  /** The grid's values for this run, in grid order. */
  cell: GridValue[];
  seed: number;
  /** The resolved, validated scenario the run executes. */
  scenario: Scenario;
  /** sha256 of the scenario's canonical JSON (without the worker count, an execution choice). */
  digest: string;
}

export interface StudyPlan {
  study: Study;
  /** The grid fields, in file order. */
  fields: string[];
  /** Number of grid cells (1 for an empty grid). */
  cells: number;
  runs: StudyRun[];
}

/**
 * A short readable label for a grid value: strings and numbers as written; a plug-in policy object
 * by its `name`, `module` or `command` (file name without extension); anything else by its JSON.
 */
export function valueLabel(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if (typeof o.name === 'string') return o.name;
    const source =
      typeof o.module === 'string'
        ? o.module
        : typeof o.command === 'string'
          ? o.command.split(/\s+/)[0]
          : Array.isArray(o.command) && typeof o.command[0] === 'string'
            ? o.command[0]
            : undefined;
    if (source) return basename(source, extname(source));
  }
  return canonicalJson(value);
}

/** Labels of one field's values, made unique (`x`, `x#2`) when two values read alike. */
function labelsOf(values: readonly unknown[]): string[] {
  const seen = new Map<string, number>();
  return values.map((v) => {
    const base = valueLabel(v);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

/** Characters safe in a folder name on every system; the rest become '-'. */
function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9.=+_-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** The digest of a resolved scenario, independent of its worker count (the log header's rule too). */
export function scenarioDigest(scenario: Scenario): string {
  return sha256Hex(canonicalJson({ ...scenario, runtime: { ...scenario.runtime, workers: 0 } }));
}

function runId(cell: readonly GridValue[], seed: number, digest: string): string {
  const parts = cell.map((g) => `${g.field.split('.').pop()}=${g.label}`);
  const readable = safe([...parts, `seed${seed}`].join('_')).slice(0, 100);
  return `${readable}-${digest.slice(0, 10)}`;
}

/** Every combination of the grid's values, the first field varying slowest. */
function cartesian(fields: readonly { field: string; values: readonly unknown[]; labels: readonly string[] }[]): GridValue[][] {
  let cells: GridValue[][] = [[]];
  for (const f of fields)
    cells = cells.flatMap((c) => f.values.map((value, i) => [...c, { field: f.field, value, label: f.labels[i] as string }]));
  return cells;
}

/** Expands a study into its runs, each scenario validated; every problem of every run is reported at once (StudyError). */
export function planStudy(study: Study, studyFile = '<study>'): StudyPlan {
  let base: unknown;
  try {
    base = JSON.parse(readFileSync(study.scenarioFile, 'utf8'));
  } catch (cause) {
    throw new StudyError(
      studyFile,
      [
        {
          field: 'scenario',
          rule: `cannot read ${study.scenarioFile} as JSON (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`,
        },
      ],
      { cause },
    );
  }
  const problems: StudyProblem[] = [];
  const override = (raw: unknown, field: string, value: unknown, where: string): unknown => {
    try {
      return applyOverride(raw, `${field}=${JSON.stringify(value)}`);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      problems.push(...e.problems.map((p) => ({ field: `${where}`, rule: p.rule })));
      return raw;
    }
  };
  for (const [field, value] of study.set) base = override(base, field, value, `set.${field}`);
  const cells = cartesian(study.grid.map(([field, values]) => ({ field, values, labels: labelsOf(values) })));
  const runs: StudyRun[] = [];
  cells.forEach((cell, cellIndex) => {
    let raw = base;
    for (const g of cell) raw = override(raw, g.field, g.value, `grid.${g.field}`);
    const seeds = study.seeds ?? [undefined];
    for (const seed of seeds) {
      const withSeed = seed === undefined ? raw : override(raw, 'seed', seed, 'seeds');
      const where = [...cell.map((g) => `${g.field}=${g.label}`), ...(seed === undefined ? [] : [`seed=${seed}`])].join(', ');
      let scenario: Scenario;
      try {
        // Plug-in paths relative to the scenario file's folder, made absolute: each run's folder holds its resolved scenario.
        scenario = parseScenario(withSeed, study.scenarioFile, dirname(study.scenarioFile));
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw e;
        problems.push(...e.problems.map((p) => ({ field: p.field, rule: where ? `${p.rule} (run ${where})` : p.rule })));
        continue;
      }
      if (scenario.topology) {
        problems.push({ field: 'scenario', rule: 'declares a topology: studies run the built-in simulation only' });
        continue;
      }
      const digest = scenarioDigest(scenario);
      runs.push({ id: runId(cell, scenario.seed, digest), cellIndex, cell, seed: scenario.seed, scenario, digest });
    }
  });
  if (problems.length > 0) {
    // The same problem in many runs is listed once.
    const unique = [...new Map(problems.map((p) => [`${p.field}\u0000${p.rule.replace(/ \(run .*\)$/, '')}`, p])).values()];
    throw new StudyError(studyFile, unique);
  }
  const ids = new Set<string>();
  for (const r of runs) {
    if (ids.has(r.id))
      throw new StudyError(studyFile, [
        { field: 'grid', rule: `two runs resolve to the same scenario (${r.id}): a grid value or seed changes nothing` },
      ]);
    ids.add(r.id);
  }
  return { study, fields: study.grid.map(([f]) => f), cells: cells.length, runs };
}
