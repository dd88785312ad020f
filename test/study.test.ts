/**
 * Studies, without running anything: the study file's validation (exit-2 errors naming
 * the field), the plan (grid × seeds, readable ids, every run's scenario validated), and the
 * statistics against hand-computed cases (means, Student t intervals, paired differences).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadStudy,
  parseStudy,
  planStudy,
  StudyError,
  valueLabel,
  tInterval,
  pairedInterval,
  summaryTable,
  pairedTable,
  runsTable,
  sizeStudy,
  type StudyPlan,
} from '../app/study';
import { toCsv } from '../app/study/csvText';
import type { RunResult } from '../app/study/results';

const QUICK = join(__dirname, '..', 'scenarios', 'quick.json');

function problemsOf(f: () => unknown): { field: string; rule: string }[] {
  try {
    f();
  } catch (e) {
    if (e instanceof StudyError) return e.problems;
    throw e;
  }
  throw new Error('expected a StudyError');
}

describe('study file', () => {
  it('resolves the scenario relative to the study file and expands { count } seeds to 1..N', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlora-studyfile-'));
    const file = join(dir, 'a.json');
    writeFileSync(file, JSON.stringify({ name: 'a', scenario: 'sub/base.json', seeds: { count: 3 } }));
    const study = loadStudy(file);
    expect(study.scenarioFile).toBe(join(dir, 'sub', 'base.json'));
    expect(study.seeds).toEqual([1, 2, 3]);
    expect(parseStudy({ name: 'b', scenario: '/abs/x.json' }).scenarioFile).toBe('/abs/x.json');
  });

  it('names the field of every problem: unknown fields, bad values, bad paths, grid/set clashes', () => {
    expect(problemsOf(() => parseStudy({ name: 'a', scenario: 'x.json', sedes: [1] }))).toEqual([
      { field: 'sedes', rule: 'unknown field' },
    ]);
    expect(problemsOf(() => parseStudy({ name: 'a', scenario: 'x.json', seeds: { count: 0 } }))[0]?.field).toBe('seeds.count');
    expect(problemsOf(() => parseStudy({ name: 'a', scenario: 'x.json', seeds: [1, -2] }))[0]?.field).toBe('seeds[1]');
    expect(problemsOf(() => parseStudy({ name: 'a', scenario: 'x.json', grid: { 'scheduler.V': [] } }))[0]).toEqual({
      field: 'grid.scheduler.V',
      rule: 'must list at least one value',
    });
    expect(problemsOf(() => parseStudy({ name: 'a b', scenario: 'x.json' }))[0]?.field).toBe('name');
    expect(problemsOf(() => parseStudy({ name: 'a', scenario: 'x.json', grid: { 'scheduler..V': [1] } }))[0]?.field).toBe(
      'grid.scheduler..V',
    );
    expect(
      problemsOf(() => parseStudy({ name: 'a', scenario: 'x.json', set: { 'scheduler.V': 1 }, grid: { 'scheduler.V': [2] } })),
    ).toEqual([{ field: 'grid.scheduler.V', rule: 'is also in "set": give it in one place' }]);
    expect(problemsOf(() => parseStudy({ name: 'a', scenario: 'x.json', seeds: [3, 3] }))).toEqual([
      { field: 'seeds', rule: 'lists a seed twice' },
    ]);
  });
});

describe('study plan', () => {
  it('is the grid product times the seeds, each run resolved through --set and named readably', () => {
    const study = parseStudy({
      name: 'p',
      scenario: QUICK,
      set: { 'training.rounds': 2 },
      grid: { 'scheduler.policy': ['lyapunov', 'myopic'], 'scheduler.V': [1, 10, 100] },
      seeds: [4, 5],
    });
    const plan = planStudy(study);
    expect(plan.runs).toHaveLength(12);
    expect(plan.cells).toBe(6);
    const first = plan.runs[0]!;
    expect(first.id).toMatch(/^policy=lyapunov_V=1_seed4-[0-9a-f]{10}$/);
    expect(first.scenario.training.rounds).toBe(2);
    expect(first.scenario.seed).toBe(4);
    expect(plan.runs[11]!.scenario.scheduler).toMatchObject({ policy: 'myopic', V: 100 });
    expect(new Set(plan.runs.map((r) => r.digest)).size).toBe(12);
    // The digest ignores the worker count (an execution choice), like the log header.
    const again = planStudy(
      parseStudy({
        name: 'p',
        scenario: QUICK,
        set: { 'training.rounds': 2, 'runtime.workers': 1 },
        grid: { 'scheduler.policy': ['lyapunov', 'myopic'], 'scheduler.V': [1, 10, 100] },
        seeds: [4, 5],
      }),
    );
    expect(again.runs.map((r) => r.id)).toEqual(plan.runs.map((r) => r.id));
  });

  it('validates every run scenario and names the field (exit-2 StudyError)', () => {
    const bad = parseStudy({ name: 'p', scenario: QUICK, grid: { 'scheduler.V': [1, -5] } });
    const problems = problemsOf(() => planStudy(bad, 'bad.json'));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe('scheduler.V');
    expect(problems[0]!.rule).toContain('run scheduler.V=-5');
    expect(problemsOf(() => planStudy(parseStudy({ name: 'p', scenario: QUICK, set: { 'scheduler.nope': 1 } })))[0]).toMatchObject({
      field: 'scheduler.nope',
      rule: 'unknown field',
    });
    expect(problemsOf(() => planStudy(parseStudy({ name: 'p', scenario: '/no/such.json' })))[0]!.field).toBe('scenario');
    expect(new StudyError('f', []).exitCode).toBe(2);
  });

  it('labels grid values readably, plug-in policy objects included', () => {
    expect(valueLabel('myopic')).toBe('myopic');
    expect(valueLabel(100)).toBe('100');
    expect(valueLabel({ module: './policies/greedy.ts', params: { k: 3 } })).toBe('greedy');
    expect(valueLabel({ command: 'python3 pol.py --fast' })).toBe('python3');
    expect(valueLabel([1, 2])).toBe('[1,2]');
  });

  it('sizes the runs so their worker threads do not exceed the cores', () => {
    expect(sizeStudy({}, 2)).toEqual({ parallel: 2, workers: 1 });
    expect(sizeStudy({ parallel: 1 }, 2)).toEqual({ parallel: 1, workers: 2 });
    expect(sizeStudy({ workers: 2 }, 8)).toEqual({ parallel: 4, workers: 2 });
    expect(sizeStudy({ parallel: 3 }, 2)).toEqual({ parallel: 3, workers: 1 });
  });
});

describe('study statistics, against hand-computed cases', () => {
  it('mean, sample sd and the 95% Student t interval', () => {
    // Prepare: 1, 2, 3, 4: mean 2.5, s² = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3, t(0.975, 3) = 3.182446305
    const s = tInterval([1, 2, 3, 4]);
    // Assert: half width = 3.182446305 · √(5/3) / 2 = 2.05426026
    expect(s.n).toBe(4);
    expect(s.mean).toBe(2.5);
    expect(s.sd).toBeCloseTo(1.2909944487, 9);
    expect(s.ciLow).toBeCloseTo(2.5 - 2.05426026, 7);
    expect(s.ciHigh).toBeCloseTo(2.5 + 2.05426026, 7);
    expect(tInterval([7])).toMatchObject({ n: 1, mean: 7 });
    expect(Number.isNaN(tInterval([7]).ciLow)).toBe(true);
  });

  it('the paired interval uses only the seeds both sides have', () => {
    // a − b over seeds 1..3: 0.5, −0.5, 2 (seed 4 only in a): mean 2/3, s² = 19/12, t(0.975, 2) = 4.302652729
    const d = pairedInterval(
      new Map([
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 9],
      ]),
      new Map([
        [1, 0.5],
        [2, 2.5],
        [3, 1],
      ]),
    );
    // half width = 4.302652729 · √(19/12) / √3 = 3.12580474
    expect(d.n).toBe(3);
    expect(d.mean).toBeCloseTo(2 / 3, 12);
    expect(d.sd).toBeCloseTo(Math.sqrt(19 / 12), 12);
    expect(d.ciLow).toBeCloseTo(2 / 3 - 3.12580474, 7);
    expect(d.ciHigh).toBeCloseTo(2 / 3 + 3.12580474, 7);
  });

  it('summary.csv and paired.csv group the runs by grid cell and pair policies within each setting of the others', () => {
    // Prepare: two policies × two V values × seeds 1, 2; finalAccuracy chosen by hand
    const plan = planStudy(
      parseStudy({
        name: 'h',
        scenario: QUICK,
        grid: { 'scheduler.policy': ['lyapunov', 'myopic'], 'scheduler.V': [1, 10] },
        seeds: [1, 2],
      }),
    );
    const accuracy: Record<string, number> = {
      'lyapunov,1,1': 0.5,
      'lyapunov,1,2': 0.7,
      'lyapunov,10,1': 0.6,
      'lyapunov,10,2': 0.6,
      'myopic,1,1': 0.4,
      'myopic,1,2': 0.4,
      'myopic,10,1': 0.9,
      'myopic,10,2': 0.5,
    };
    const results: RunResult[] = plan.runs.map((run) => ({
      run,
      rounds: [],
      summary: { finalAccuracy: accuracy[`${run.cell[0]!.label},${run.cell[1]!.label},${run.seed}`], logHash: `h${run.seed}`, wallS: 1 },
    }));

    // Execute
    const summary = summaryTable(plan as StudyPlan, results);
    const paired = pairedTable(plan, results);
    const runs = runsTable(plan, results);

    // Assert: lyapunov V=1: mean 0.6, sd √0.02, half = 12.7062047 · √0.02 / √2 = 1.27062047
    expect(summary.columns).toEqual(['scheduler.policy', 'scheduler.V', 'figure', 'n', 'mean', 'sd', 'ciLow', 'ciHigh']);
    const row = summary.rows[0]!;
    expect(row.slice(0, 4)).toEqual(['lyapunov', '1', 'finalAccuracy', 2]);
    expect(row[4]).toBeCloseTo(0.6, 12);
    expect(row[5]).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(row[6]).toBeCloseTo(0.6 - 1.27062047, 7);
    expect(row[7]).toBeCloseTo(0.6 + 1.27062047, 7);
    expect(summary.rows[1]!.slice(0, 6)).toEqual(['lyapunov', '10', 'finalAccuracy', 2, 0.6, 0]);
    // Paired at V=1: differences 0.1, 0.3 → mean 0.2, sd √0.02; at V=10: −0.3, 0.1 → mean −0.1, sd √0.08
    expect(paired.columns).toEqual(['scheduler.V', 'policyA', 'policyB', 'figure', 'n', 'meanDifference', 'sd', 'ciLow', 'ciHigh']);
    expect(paired.rows).toHaveLength(2);
    expect(paired.rows[0]!.slice(0, 5)).toEqual(['1', 'lyapunov', 'myopic', 'finalAccuracy', 2]);
    expect(paired.rows[0]![5]).toBeCloseTo(0.2, 12);
    expect(paired.rows[0]![6]).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(paired.rows[1]![5]).toBeCloseTo(-0.1, 12);
    expect(paired.rows[1]![8]).toBeCloseTo(-0.1 + (12.7062047 * Math.sqrt(0.08)) / Math.sqrt(2), 6);
    expect(runs.columns).toEqual(['run', 'scheduler.policy', 'scheduler.V', 'seed', 'finalAccuracy', 'logHash', 'wallS']);
  });

  it('writes CSV that pandas and R read: quoting, NaN, Inf', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x,y', Number.NaN],
          ['say "hi"', Infinity],
          [' pad', 0.1],
        ],
      ),
    ).toBe('a,b\n"x,y",NaN\n"say ""hi""",Inf\n" pad",0.1\n');
  });
});
