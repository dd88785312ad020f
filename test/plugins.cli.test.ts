/** Module paths on the command line (README "Plug-ins"): `--policy` and `--policies` take them wherever they take names. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'airlora.js');
const airlora = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, cwd: ROOT });
const dir = mkdtempSync(join(tmpdir(), 'airlora-plugins-cli-'));

describe('policy modules on the command line', () => {
  it('a missing module is exit status 2, naming it; a misspelt name still says which names exist', () => {
    const missing = airlora('run', 'scenarios/quick.json', '--policy', './no-such-policy.js', '--out', join(dir, 'missing'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`policy module ${join(ROOT, 'no-such-policy.js')}: cannot be found`);
    const misspelt = airlora('run', '--policy', 'best-chanel');
    expect(misspelt.status).toBe(2);
    expect(misspelt.stderr).toMatch(/unknown policy 'best-chanel' \(known: lyapunov, .*best-channel.*; or a module path/);
  });

  it('compare --policies mixes a built-in name and a module path (relative to the working directory), one run folder each', () => {
    const out = join(dir, 'compare');
    const r = airlora(
      'compare',
      'scenarios/quick.json',
      '--policies',
      'best-channel,examples/proportional-fair.js',
      '--rounds',
      '1',
      '--out',
      out,
      '--quiet',
      '--workers',
      '1',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^best-channel +accuracy/m);
    expect(r.stdout).toMatch(/^proportional-fair +accuracy/m);
    // compare is a study over policies: one run folder per policy under runs/, named by the policy's label.
    const folders = readdirSync(join(out, 'runs'));
    expect(folders.filter((f) => f.startsWith('policy=best-channel_'))).toHaveLength(1);
    const module = folders.find((f) => f.startsWith('policy=proportional-fair_'));
    expect(module).toBeDefined();
    const header = JSON.parse(readFileSync(join(out, 'runs', module!, 'events.jsonl'), 'utf8').split('\n')[0]!) as {
      policy: unknown;
      policyDigest: { module: string };
    };
    expect(header.policy).toEqual({ module: join(ROOT, 'examples', 'proportional-fair.js') });
    expect(header.policyDigest.module).toBe(join(ROOT, 'examples', 'proportional-fair.js'));
  });
});
