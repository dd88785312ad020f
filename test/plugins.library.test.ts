/**
 * The library's `run` with a policy module (README "Plug-ins"): the README's own 20-line policy,
 * cut out of README.md, runs from a scenario object with a path relative to `baseDir`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../app/library';
import { ScenarioError, type ScenarioInput } from '../app/scenario';

const ROOT = join(__dirname, '..');

/** The README's code block that starts with `// my-policy.js`. */
function readmePolicy(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```js\n(\/\/ my-policy\.js[^]*?)```/.exec(readme);
  if (!block?.[1]) throw new Error('README.md has no `// my-policy.js` code block');
  return block[1];
}

describe('run (the library) with a policy module', () => {
  it("runs the README's policy from a scenario object: its decisions, its name and digest in the outputs", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlora-library-'));
    writeFileSync(join(dir, 'my-policy.js'), readmePolicy());
    const quick = JSON.parse(readFileSync(join(ROOT, 'scenarios', 'quick.json'), 'utf8')) as ScenarioInput;
    const scenario: ScenarioInput = {
      ...quick,
      training: { ...quick.training, rounds: 2 },
      scheduler: { ...quick.scheduler, policy: { module: './my-policy.js', params: { count: 2 } } },
    };
    const { summary, outDir, rounds } = await run(scenario, { baseDir: dir, outDir: join(dir, 'run') });
    expect(outDir).toBe(join(dir, 'run'));
    expect(summary.policy).toBe('strongest-equal');
    expect(rounds).toHaveLength(2);
    for (const r of rounds) {
      expect(r.admitted).toHaveLength(2);
      expect(Object.values(r.bandwidth)).toEqual([0.5, 0.5]);
    }
    const header = JSON.parse(readFileSync(join(outDir, 'events.jsonl'), 'utf8').split('\n')[0]!) as { policyDigest: { module: string } };
    expect(header.policyDigest.module).toBe(join(dir, 'my-policy.js'));
  });

  it('refuses a bad policy field, naming it', async () => {
    await expect(run({ scheduler: { policy: { module: '' } } } as ScenarioInput)).rejects.toThrow(ScenarioError);
    await expect(run({ scheduler: { policy: 'fastest' } } as unknown as ScenarioInput)).rejects.toThrow(
      /scheduler\.policy: must be a policy name/,
    );
  });
});
