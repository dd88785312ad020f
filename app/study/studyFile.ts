/**
 * The study file (README "Studies"): a base scenario, fixed overrides, a grid of overrides and
 * the seeds. Validated with zod at load time like scenario files: unknown fields and bad values
 * are errors naming the field; `set` and `grid` keys are the paths `--set` takes.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { readJsonFile, zodProblems } from '../scenario';

/** A `--set` path: dotted field names (`scheduler.V`, `training.rounds`). */
const fieldPath = z.string().regex(/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/, 'must be a dotted field path like scheduler.V');

const seedValue = z.number().int().min(0).max(0xffffffff);

const studySchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().regex(/^[\w.-]+$/, 'must be letters, digits, ".", "_" or "-" (it names the output folder)'),
  description: z.string().default(''),
  /** The base scenario: an absolute path or one relative to the study file. */
  scenario: z.string().min(1),
  /** Overrides applied to every run, before the grid's. */
  set: z.record(z.string(), z.unknown()).default({}),
  /** Each field's values; the runs are the cartesian product. Values are any JSON (a policy may be an object). */
  grid: z.record(z.string(), z.array(z.unknown()).min(1, 'must list at least one value')).default({}),
  /** The seeds every grid cell runs with: a list, or `{ "count": N }` for seeds 1..N. Default: the scenario's own seed. */
  seeds: z
    .union([z.array(seedValue).min(1, 'must list at least one seed'), z.strictObject({ count: z.number().int().min(1).max(10000) })])
    .optional(),
});

export type StudyInput = z.input<typeof studySchema>;

/** A validated study with its scenario path resolved. */
export interface Study {
  name: string;
  description: string;
  /** Absolute path of the base scenario. */
  scenarioFile: string;
  /** Fixed overrides, in file order. */
  set: [path: string, value: unknown][];
  /** Grid fields in file order, each with its values. */
  grid: [path: string, values: unknown[]][];
  /** Explicit seeds, or undefined for the scenario's own. */
  seeds: number[] | undefined;
}

/** One problem of a study file: the field (dotted path) and the rule it breaks. */
export interface StudyProblem {
  field: string;
  rule: string;
}

/** A study that cannot be run: exit status 2, naming the file, the field and the rule. */
export class StudyError extends Error {
  override readonly name = 'StudyError';
  readonly exitCode = 2;
  constructor(
    readonly file: string,
    readonly problems: StudyProblem[],
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problems.map((p) => `${p.field || '(root)'}: ${p.rule}`).join('; ')}`, options);
  }
}

/** Validates a parsed study object; relative scenario paths are taken from `baseDir`. */
export function parseStudy(input: unknown, file = '<study>', baseDir = process.cwd()): Study {
  const result = studySchema.safeParse(input);
  if (!result.success) {
    throw new StudyError(file, zodProblems(result.error));
  }
  const s = result.data;
  const problems: StudyProblem[] = [];
  for (const section of ['set', 'grid'] as const)
    for (const key of Object.keys(s[section])) {
      const check = fieldPath.safeParse(key);
      if (!check.success) problems.push({ field: `${section}.${key}`, rule: check.error.issues[0]?.message ?? 'bad path' });
    }
  for (const key of Object.keys(s.grid)) {
    if (key === 'seed') problems.push({ field: 'grid.seed', rule: 'seeds are given by "seeds", not the grid' });
    if (key in s.set) problems.push({ field: `grid.${key}`, rule: 'is also in "set": give it in one place' });
  }
  if (Array.isArray(s.seeds) && new Set(s.seeds).size !== s.seeds.length) problems.push({ field: 'seeds', rule: 'lists a seed twice' });
  if (problems.length > 0) throw new StudyError(file, problems);
  return {
    name: s.name,
    description: s.description,
    scenarioFile: isAbsolute(s.scenario) ? s.scenario : resolve(baseDir, s.scenario),
    set: Object.entries(s.set),
    grid: Object.entries(s.grid),
    seeds: s.seeds === undefined ? undefined : Array.isArray(s.seeds) ? s.seeds : Array.from({ length: s.seeds.count }, (_, i) => i + 1),
  };
}

/** Reads and validates a study file. */
export function loadStudy(file: string): Study {
  const json = readJsonFile(file, (rule, cause) => new StudyError(file, [{ field: '', rule }], { cause }));
  return parseStudy(json, file, dirname(resolve(file)));
}
