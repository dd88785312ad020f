/**
 * Policies from modules and processes (README "Plug-ins"): a module re-implementing the
 * built-in best-channel and the Python example each log the very events of the built-in
 * best-channel (only the header differs: the policy and a module's digest); a changed module
 * cannot be replayed.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, type PolicySpec, type Scenario } from '../app/scenario';
import { runToFolder } from '../app/sim/run';
import { replayLog, ReplayError } from '../app/sim/replay';

const ROOT = join(__dirname, '..');
const quick = loadScenario(join(ROOT, 'scenarios', 'quick.json'));
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));
/** quick.json, 3 rounds, best-channel's group size 3, with `policy`. */
const scenario = (policy: PolicySpec): Scenario => ({
  ...quick,
  training: { ...quick.training, rounds: 3 },
  scheduler: { ...quick.scheduler, policy, randomCount: 3 },
});
const lines = (dir: string) => readFileSync(join(dir, 'events.jsonl'), 'utf8').trimEnd().split('\n');
/**
 * The first event line (after the header) where two logs differ, both lines cut short; null when
 * the events are byte-identical but for `hash`, the running hash, which chains from the header's.
 */
function firstDifference(a: readonly string[], b: readonly string[]): string | null {
  for (let i = 1; i < Math.max(a.length, b.length); i++)
    if (a[i]?.replace(/,"hash":"[0-9a-f]+"}$/, '') !== b[i]?.replace(/,"hash":"[0-9a-f]+"}$/, ''))
      return `line ${i + 1}:\n  ${a[i]?.slice(0, 400)}\n  ${b[i]?.slice(0, 400)}`;
  return null;
}

describe('policy plug-ins give the built-in best-channel events', () => {
  let builtin: string[];
  beforeAll(async () => {
    const out = fresh('builtin');
    await runToFolder(scenario('best-channel'), { outDir: out });
    builtin = lines(out);
  });

  it('a module re-implementing best-channel: byte-identical events, its digest in the header', async () => {
    const out = fresh('module');
    const module = join(ROOT, 'test', 'fixtures', 'bestChannelPolicy.js');
    const r = await runToFolder(scenario({ module, params: { count: 3 } }), { outDir: out });
    const got = lines(out);
    expect(firstDifference(got, builtin)).toBeNull();
    expect(JSON.parse(got[0]!).policyDigest).toEqual({ module, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(r.summary.policy).toBe('best-channel-module');
    const admitted = got
      .filter((l) => l.includes('"type":"decision"') && l.includes('"to":"log"'))
      .map((l) => JSON.parse(l).payload.value.admitted);
    expect(admitted.every((a: string[]) => a.length > 0)).toBe(true);
  });

  it('the Python example (a process): byte-identical events, its stderr kept in the run folder', async () => {
    const out = fresh('python');
    const r = await runToFolder(scenario({ command: ['python3', join(ROOT, 'examples', 'best_channel.py'), '3'], timeoutS: 20 }), {
      outDir: out,
    });
    expect(firstDifference(lines(out), builtin)).toBeNull();
    expect(r.summary.policy).toBe('best_channel');
    expect(readFileSync(join(out, 'policy-stderr.log'), 'utf8')).toBe('');
  });
});

describe('a module policy in replay', () => {
  it('replays a run hash for hash, and refuses (exit status 2) once the module changed, naming it', async () => {
    const dir = fresh('changed');
    const module = join(dir, 'policy.js');
    copyFileSync(join(ROOT, 'test', 'fixtures', 'bestChannelPolicy.js'), module);
    writeFileSync(
      module,
      readFileSync(module, 'utf8').replace(
        "require('../../scheduler/plugins/decision')",
        `require(${JSON.stringify(join(ROOT, 'scheduler', 'plugins', 'decision'))})`,
      ),
    );
    const out = join(dir, 'run');
    await runToFolder({ ...scenario({ module, params: { count: 3 } }), training: { ...quick.training, rounds: 2 } }, { outDir: out });
    const ok = await replayLog(join(out, 'events.jsonl'), { outDir: join(dir, 'replay') });
    expect(ok.ok).toBe(true);
    appendFileSync(module, '\n// changed\n');
    const changed = replayLog(join(out, 'events.jsonl'), { outDir: join(dir, 'replay2') });
    await expect(changed).rejects.toThrow(ReplayError);
    await expect(changed).rejects.toThrow(
      new RegExp(`policy module ${module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} changed since the run`),
    );
    await expect(changed).rejects.toMatchObject({ exitCode: 2 });
  });
});
