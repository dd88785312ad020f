/**
 * Interruptions lose nothing: a real child process killed with SIGKILL at a random point,
 * then `resume`, finishes with the same log hash and metrics as a run never interrupted; SIGINT
 * stops cleanly with a checkpoint, a report of the rounds done and the command to resume.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../app/scenario';
import { resumeFolder, runToFolder } from '../app/sim/run';
import { RandomStream } from '../util/random';
import type { RoundMetrics } from '../app/metrics';

const BIN = join(__dirname, '..', 'bin', 'airlora.js');
const QUICK = join(__dirname, '..', 'scenarios', 'quick.json');
const quick = loadScenario(QUICK);
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));
const withoutWall = (rounds: RoundMetrics[]) => rounds.map(({ wallS: _wall, ...rest }) => rest);

interface Child {
  child: ReturnType<typeof spawn>;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `airlora run quick.json` in a child and resolves once its first checkpoint is on disk. */
function startChild(outDir: string): Promise<Child> {
  const child = spawn(process.execPath, [BIN, 'run', QUICK, '--out', outDir, '--workers', '1', '--quiet'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const checkpoint = join(outDir, 'checkpoints', 'checkpoint.json');
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(checkpoint)) {
        clearInterval(timer);
        resolve({ child, output: () => text, exited });
      }
    }, 20);
    void exited.then(() => {
      clearInterval(timer);
      if (!existsSync(checkpoint)) reject(new Error(`the child exited before its first checkpoint:\n${text}`));
    });
  });
}

describe('interrupted runs', () => {
  let reference: Awaited<ReturnType<typeof runToFolder>>;
  beforeAll(async () => {
    reference = await runToFolder(quick, { outDir: fresh('reference'), workers: 1 });
  }, 300_000);

  it('resumes a run killed with SIGKILL to the same log hash and metrics', async () => {
    const dir = fresh('killed');
    const { child, exited } = await startChild(dir);
    const delayMs = RandomStream.fromSeed(2026).fork('kill').between(0, 400);
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill('SIGKILL');
    const { signal } = await exited;
    expect(signal).toBe('SIGKILL');
    expect(existsSync(join(dir, 'summary.json'))).toBe(false);
    const resumed = await resumeFolder(dir, { workers: 2 });
    expect(resumed.summary.logHash).toBe(reference.summary.logHash);
    expect(withoutWall(resumed.rounds)).toEqual(withoutWall(reference.rounds));
    const csvRows = readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csvRows).toHaveLength(quick.training.rounds + 1);
  }, 300_000);

  it('stops cleanly on SIGINT and says how to resume', async () => {
    const dir = fresh('sigint');
    const { child, output, exited } = await startChild(dir);
    child.kill('SIGINT');
    const { code } = await exited;
    expect(code).toBe(130);
    expect(output()).toContain(`airlora resume ${dir}`);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.interrupted).toBe(true);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    const resumed = await resumeFolder(dir, { workers: 1 });
    expect(resumed.summary.logHash).toBe(reference.summary.logHash);
  }, 300_000);
});
