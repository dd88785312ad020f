/**
 * Fading models from modules (README "Plug-ins"): a module re-implementing the built-in
 * Rayleigh logs the very events of the built-in (only the header differs: the fading spec and the
 * module's digest); the shipped Gilbert-Elliott example runs and replays; a changed module cannot
 * be replayed and a missing one is exit status 2, each naming the module.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, type Scenario } from '../app/scenario';
import { resumeFolder, runToFolder } from '../app/sim/run';
import { createFadingProcess } from '../channels/fading';
import { createCell } from '../channels/geometry';
import { RandomStream } from '../util/random';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'airlora.js');
const airlora = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, cwd: ROOT });
const quick = loadScenario(join(ROOT, 'scenarios', 'quick.json'));
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-fading-${name}-`));
/** quick.json, 2 rounds, with `fading` over its channel.fading. */
const scenario = (fading: Partial<Scenario['channel']['fading']>): Scenario => ({
  ...quick,
  training: { ...quick.training, rounds: 2 },
  channel: { ...quick.channel, fading: { ...quick.channel.fading, model: 'rayleigh', ...fading } },
});
const lines = (dir: string) => readFileSync(join(dir, 'events.jsonl'), 'utf8').trimEnd().split('\n');
/** The first event line where two logs differ, both cut short; null when they are byte-identical but for the running hash. */
function firstDifference(a: readonly string[], b: readonly string[]): string | null {
  for (let i = 1; i < Math.max(a.length, b.length); i++)
    if (a[i]?.replace(/,"hash":"[0-9a-f]+"}$/, '') !== b[i]?.replace(/,"hash":"[0-9a-f]+"}$/, ''))
      return `line ${i + 1}:\n  ${a[i]?.slice(0, 400)}\n  ${b[i]?.slice(0, 400)}`;
  return null;
}
/** A scenario file in `dir` whose fading is `fading` (so a relative module path resolves against `dir`). */
function scenarioFile(dir: string, fading: unknown): string {
  const file = join(dir, 'scenario.json');
  const raw = JSON.parse(readFileSync(join(ROOT, 'scenarios', 'quick.json'), 'utf8')) as { training?: object; channel?: object };
  writeFileSync(file, JSON.stringify({ ...raw, training: { ...raw.training, rounds: 2 }, channel: { ...raw.channel, fading } }));
  return file;
}

describe('a fading module', () => {
  it('re-implementing Rayleigh: byte-identical events to the built-in rayleigh, its digest in the header', async () => {
    const builtin = fresh('builtin');
    await runToFolder(scenario({}), { outDir: builtin });
    const out = fresh('module');
    const module = join(ROOT, 'test', 'fixtures', 'rayleighFading.js');
    await runToFolder(scenario({ module }), { outDir: out });
    const got = lines(out);
    expect(got.length).toBeGreaterThan(10);
    expect(firstDifference(got, lines(builtin))).toBeNull();
    expect(JSON.parse(got[0]!).fadingDigest).toEqual({ module, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.parse(lines(builtin)[0]!).fadingDigest).toBeUndefined();
  });

  it('Gilbert-Elliott: blocked bursts, the Rayleigh draws underneath, and stepping from a checkpointed state', () => {
    const random = RandomStream.fromSeed(7).fork('channel');
    const cell = createCell({ radiusM: 500, minDistanceM: 50, shadowingDb: 8 }, 20, random);
    const base = { model: 'rayleigh' as const, ricianK: 3, dopplerHz: 10, slotS: 0.01 };
    const rayleigh = createFadingProcess(base, cell, random);
    const ge = createFadingProcess(
      { ...base, module: 'airlora:gilbert-elliott', params: { pBlock: 0.1, pUnblock: 0.2, blockageDb: 20 } },
      cell,
      random,
    );
    expect(ge.model).toBe('module');
    let blockedSlots = 0;
    for (let t = 0; t < 200; t++) {
      const a = rayleigh.gainsForSlot(t).fadingPower;
      const b = ge.gainsForSlot(t).fadingPower;
      b.forEach((p, k) => {
        const ratio = p / (a[k] as number);
        // each power is the built-in draw, or that draw 20 dB down.
        expect(Math.abs(ratio - 1) < 1e-12 || Math.abs(ratio - 0.01) < 1e-12).toBe(true);
        if (ratio < 0.5) blockedSlots++;
      });
    }
    // stationary blocked fraction pBlock/(pBlock+pUnblock) = 1/3 of 4000 device-slots (loose: the chain starts clear).
    expect(blockedSlots / 4000).toBeGreaterThan(0.25);
    expect(blockedSlots / 4000).toBeLessThan(0.4);
    // a state is plain JSON: through JSON and back, it steps on to the same frame.
    const [state] = ge.step(ge.initialState(), 0);
    const again = ge.step(JSON.parse(JSON.stringify(state)), 1)[1];
    expect(again.fadingPower).toEqual(ge.step(state, 1)[1].fadingPower);
    expect(() => ge.step(state, 0)).toThrow(/cannot go back/);
  });
});

describe('a fading module in a checkpoint', () => {
  it('stopped after round 1 and resumed: the same logHash as a run never stopped (the module state is checkpointed)', async () => {
    const ge = scenario({ module: 'airlora:gilbert-elliott', params: { pBlock: 0.3, pUnblock: 0.3 } });
    const whole = await runToFolder({ ...ge, training: { ...ge.training, rounds: 3 } }, { outDir: fresh('whole') });
    const out = fresh('stopped');
    await runToFolder({ ...ge, training: { ...ge.training, rounds: 3 } }, { outDir: out, stopAfterRounds: 1 });
    const resumed = await resumeFolder(out);
    expect(resumed.summary.logHash).toBe(whole.summary.logHash);
  });
});

describe('fading modules on the command line (dist/)', () => {
  it('the shipped example runs from a scenario file and replays (exit 0); a changed module is exit 2, naming it', () => {
    const dir = fresh('replay');
    const module = join(dir, 'ge.js');
    copyFileSync(join(ROOT, 'examples', 'gilbert-elliott.js'), module);
    const file = scenarioFile(dir, { module: './ge.js', params: { pBlock: 0.2, pUnblock: 0.3 } });
    const run = airlora('run', file, '--out', join(dir, 'run'), '--quiet', '--workers', '1');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const header = JSON.parse(lines(join(dir, 'run'))[0]!) as { fadingDigest: { module: string } };
    expect(header.fadingDigest.module).toBe(module);
    const replay = airlora('replay', join(dir, 'run', 'events.jsonl'), '--out', join(dir, 'replay'), '--workers', '1');
    expect(replay.status).toBe(0);
    appendFileSync(module, '\n// changed\n');
    const changed = airlora('replay', join(dir, 'run', 'events.jsonl'), '--out', join(dir, 'replay2'), '--workers', '1');
    expect(changed.status).toBe(2);
    expect(changed.stderr).toContain(`fading module ${module} changed since the run`);
  });

  it('a missing module, or one without createFading, is exit status 2 naming it', () => {
    const dir = fresh('missing');
    const missing = airlora('run', scenarioFile(dir, { module: './no-such-fading.js' }), '--out', join(dir, 'a'), '--quiet');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`fading module ${join(dir, 'no-such-fading.js')}: cannot be found`);
    writeFileSync(join(dir, 'empty.js'), 'exports.createPolicy = () => null;\n');
    const empty = airlora('run', scenarioFile(dir, { module: './empty.js' }), '--out', join(dir, 'b'), '--quiet');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain(`fading module ${join(dir, 'empty.js')}: exports no createFading(params) function`);
  });
});
