/**
 * Studies for real, through the command line on the build: a study of quick.json-sized
 * runs of 2 rounds (2 policies × 2 seeds). Each run's logHash equals `airlora run` on its resolved
 * scenario; a study stopped by SIGINT, then killed with SIGKILL, then started again ends with the
 * same runs.csv (wall time aside) as one never interrupted; a start of a finished study runs nothing.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, QUICK, writeTwoPolicyStudy } from './studyFixture';

const root = mkdtempSync(join(tmpdir(), 'airlora-study-'));
const STUDY = writeTwoPolicyStudy(root, [1, 2]);

const airlora = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000 });

/** runs.csv as rows of cells, with the wall-clock column dropped. */
function runsWithoutWall(dir: string): string[][] {
  const [header, ...rows] = readFileSync(join(dir, 'runs.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const wall = (header as string[]).indexOf('wallS');
  expect(wall).toBeGreaterThan(0);
  return [header as string[], ...rows].map((r) => r.filter((_, i) => i !== wall));
}

/** Whether any process still runs with `text` in its command line (a run of the study). */
function processesWith(text: string): boolean {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.includes(text) && !l.startsWith('ps '));
}

/** Starts the study in the background; resolves once some run of it has written a checkpoint (a new one: not one of an earlier start). */
function startStudy(out: string): Promise<{ child: ReturnType<typeof spawn>; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'study', STUDY, '--out', out, '--parallel', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const since = Date.now();
  const checkpointed = () =>
    existsSync(join(out, 'runs')) &&
    readdirSync(join(out, 'runs')).some((id) => {
      const file = join(out, 'runs', id, 'checkpoints', 'checkpoint.json');
      return existsSync(file) && statSync(file).mtimeMs >= since;
    });
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (checkpointed()) {
        clearInterval(timer);
        resolve({ child, output: () => text, exited });
      }
    }, 20);
    void exited.then(() => {
      clearInterval(timer);
      if (!checkpointed()) reject(new Error(`the study exited before any checkpoint:\n${text}`));
    });
  });
}

describe('airlora study', () => {
  const reference = join(root, 'reference');
  let referenceOutput: string;
  beforeAll(() => {
    const r = airlora('study', STUDY, '--out', reference, '--parallel', '2');
    referenceOutput = r.stdout + r.stderr;
    expect(r.status).toBe(0);
  }, 300_000);

  it('writes runs, rounds, summary and paired tables and a report from ordinary run folders', () => {
    expect(referenceOutput).toContain('4 of 4 runs finished (0 already, 0 resumed, 4 started; 2 at once, 1 worker each)');
    const runs = readFileSync(join(reference, 'runs.csv'), 'utf8').trim().split('\n');
    expect(runs).toHaveLength(5);
    expect(runs[0]).toMatch(/^run,scheduler\.policy,seed,rounds,devices,finalAccuracy,.*,logHash,wallS$/);
    expect(readFileSync(join(reference, 'rounds.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 4 * 2);
    const summary = readFileSync(join(reference, 'summary.csv'), 'utf8').trim().split('\n');
    expect(summary[0]).toBe('scheduler.policy,figure,n,mean,sd,ciLow,ciHigh');
    expect(summary.some((l) => l.startsWith('myopic,finalAccuracy,2,'))).toBe(true);
    const paired = readFileSync(join(reference, 'paired.csv'), 'utf8').trim().split('\n');
    expect(paired[0]).toBe('policyA,policyB,figure,n,meanDifference,sd,ciLow,ciHigh');
    expect(paired.some((l) => l.startsWith('lyapunov,myopic,meanEnergyJPerDevice,2,'))).toBe(true);
    const html = readFileSync(join(reference, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    for (const id of readdirSync(join(reference, 'runs')))
      for (const f of ['events.jsonl', 'metrics.csv', 'summary.json', 'report.html', 'scenario.json'])
        expect(existsSync(join(reference, 'runs', id, f))).toBe(true);
  });

  it("gives each run the logHash of `airlora run` on the run's resolved scenario", () => {
    const [header, first] = readFileSync(join(reference, 'runs.csv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    const id = first![0]!;
    const out = join(root, 'single');
    const r = airlora('run', join(reference, 'runs', id, 'scenario.json'), '--out', out, '--quiet');
    expect(r.status).toBe(0);
    const single = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(first![header!.indexOf('logHash')]).toBe(single.logHash);
  }, 300_000);

  it('stops on SIGINT with the command to continue; killed with SIGKILL and started again, it ends with the same runs.csv; a finished study runs nothing', async () => {
    const out = join(root, 'interrupted');
    // SIGINT: the runs in flight checkpoint, no new run starts, exit 130 with the command to continue.
    const first = await startStudy(out);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(first.output()).toContain(`continue with: airlora study ${STUDY} --out ${out} --parallel 2`);
    // SIGKILL of the study process alone: its runs notice and stop too.
    const second = await startStudy(out);
    second.child.kill('SIGKILL');
    await second.exited;
    for (let i = 0; i < 200 && processesWith(join(out, 'runs')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(processesWith(join(out, 'runs'))).toBe(false);

    const third = airlora('study', STUDY, '--out', out, '--parallel', '2');
    expect(third.status).toBe(0);
    expect(third.stdout).toMatch(/4 of 4 runs finished \(\d already, [1-4] resumed, \d started/);
    expect(runsWithoutWall(out)).toEqual(runsWithoutWall(reference));

    const summaries = readdirSync(join(out, 'runs')).map((id) => statSync(join(out, 'runs', id, 'summary.json')).mtimeMs);
    const fourth = airlora('study', STUDY, '--out', out);
    expect(fourth.status).toBe(0);
    expect(fourth.stdout).toContain('4 of 4 runs finished (4 already, 0 resumed, 0 started');
    expect(readdirSync(join(out, 'runs')).map((id) => statSync(join(out, 'runs', id, 'summary.json')).mtimeMs)).toEqual(summaries);
    expect(runsWithoutWall(out)).toEqual(runsWithoutWall(reference));
  }, 600_000);

  it('compare is a study over policies: the same tables and report', () => {
    const out = join(root, 'compare');
    const r = airlora('compare', QUICK, '--policies', 'lyapunov,myopic', '--rounds', '2', '--seed', '3', '--out', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/lyapunov +accuracy/);
    for (const f of ['runs.csv', 'rounds.csv', 'summary.csv', 'paired.csv', 'report.html']) expect(existsSync(join(out, f))).toBe(true);
    const runs = readFileSync(join(out, 'runs.csv'), 'utf8').trim().split('\n');
    expect(runs).toHaveLength(3);
    expect(runs[1]).toMatch(/^policy=lyapunov_seed3-[0-9a-f]{10},lyapunov,3,2,/);
  }, 300_000);

  it('rejects a bad study file with exit 2, naming the field', () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'bad', scenario: QUICK, grid: { 'scheduler.V': [-1] }, seeds: [1], extra: true }));
    const r = airlora('study', bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('extra: unknown field');
    const worse = join(root, 'worse.json');
    writeFileSync(worse, JSON.stringify({ name: 'worse', scenario: QUICK, grid: { 'scheduler.V': [-1] } }));
    const w = airlora('study', worse);
    expect(w.status).toBe(2);
    expect(w.stderr).toMatch(/scheduler\.V: .*run scheduler\.V=-1/);
  });
});
