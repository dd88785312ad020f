/**
 * A policy process that fails (README "Plug-ins"): a crash, a timeout, a line that is not
 * a decision, Σβ > 1 and an unknown device id each stop `airlora run` with exit status 1 and a
 * message naming the slot, the problem and the stderr file; the rounds done are kept with a
 * checkpoint, and once the script is fixed `resume` finishes with the log hash of an uninterrupted
 * run of the fixed script.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../app/scenario';
import { resumeFolder, runToFolder } from '../app/sim/run';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'airlora.js');
const dir = mkdtempSync(join(tmpdir(), 'airlora-process-'));
const scenarioFile = join(dir, 'scenario.json');
const FAIL_SLOT = 2;
/** Round t closes in slot t + 1: the rounds done when slot FAIL_SLOT fails. */
const ROUNDS_DONE = FAIL_SLOT - 1;

/** The test policy with `fault` in slot FAIL_SLOT ('none': the fixed policy), written where the scenario runs it. */
function writePolicy(fault: string): void {
  const text = readFileSync(join(ROOT, 'test', 'fixtures', 'faultyPolicy.py'), 'utf8')
    .replace('EXAMPLES_DIR', JSON.stringify(join(ROOT, 'examples')))
    .replace('FAULT = "none"', `FAULT = ${JSON.stringify(fault)}`)
    .replace('FAIL_SLOT = 1', `FAIL_SLOT = ${FAIL_SLOT}`);
  writeFileSync(join(dir, 'policy.py'), text);
}

let reference: string;
beforeAll(async () => {
  const quick = JSON.parse(readFileSync(join(ROOT, 'scenarios', 'quick.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  // One scenario for every case (its header, with the command and cwd, is part of the log hash); policy.py relative to it.
  writeFileSync(
    scenarioFile,
    JSON.stringify({
      ...quick,
      training: { ...quick.training, rounds: 3 },
      scheduler: { ...quick.scheduler, randomCount: 3, policy: { command: ['python3', 'policy.py', '3'], timeoutS: 2 } },
    }),
  );
  writePolicy('none');
  const r = await runToFolder(loadScenario(scenarioFile), { outDir: join(dir, 'reference') });
  expect(r.summary.rounds).toBe(3);
  reference = r.summary.logHash;
});

describe.each([
  ['crash', /the process exited with status 3 before answering/],
  ['timeout', /no answer within timeoutS = 2 s/],
  ['malformed', /the answer is not a JSON line: "admit d0 please"/],
  ['overband', /infeasible decision: bandwidth: fractions sum to 1\.2/],
  ['unknown', /unknown device id 'd99'/],
])('a policy process with a %s', (fault, problem) => {
  it('stops the run (exit 1) naming the slot, the problem and its stderr file; resume after the fix gives the uninterrupted log hash', async () => {
    const out = join(dir, fault);
    writePolicy(fault);
    const r = spawnSync(process.execPath, [BIN, 'run', scenarioFile, '--out', out, '--quiet', '--workers', '1'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    const stderrFile = join(out, 'policy-stderr.log');
    expect(r.stderr).toContain(`slot ${FAIL_SLOT}: `);
    expect(r.stderr).toMatch(problem);
    expect(r.stderr).toContain(stderrFile);
    expect(r.stderr).toContain(`airlora resume ${out}`);
    expect(readFileSync(stderrFile, 'utf8')).toContain(`faulty policy: ${fault} in slot ${FAIL_SLOT}`);
    // The rounds done are kept, with a checkpoint at the failed slot.
    expect(readFileSync(join(out, 'metrics.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(1 + ROUNDS_DONE);
    expect(existsSync(join(out, 'checkpoints', 'checkpoint.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ rounds: ROUNDS_DONE, interrupted: true });

    writePolicy('none');
    const resumed = await resumeFolder(out);
    expect(resumed.summary.rounds).toBe(3);
    expect(resumed.summary.logHash).toBe(reference);
  });
});
