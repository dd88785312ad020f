/** The command line's contract (INTERFACE.md): exit statuses and messages that name the problem. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { createEventLogHeader, EventLogWriter } from '../runtime/eventLog';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', 'bin', 'airlora.js');
const airlora = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
const dir = mkdtempSync(join(tmpdir(), 'airlora-cli-'));

describe('airlora command line', () => {
  it('validates the built-in scenarios', () => {
    for (const name of ['cell-50', 'quick']) {
      const r = airlora('validate', join(__dirname, '..', 'scenarios', `${name}.json`));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it('lists every problem of a bad scenario at once, with exit status 2', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        channel: { bandwidthHz: -5 },
        training: { deadlineS: 0 },
        devices: { count: 3 },
        scheduler: { randomCount: 9 },
        data: { dirichletAlpha: 0 },
        colour: 'red',
      }),
    );
    const r = airlora('validate', file);
    expect(r.status).toBe(2);
    for (const field of ['channel.bandwidthHz', 'training.deadlineS', 'scheduler.randomCount', 'data.dirichletAlpha', 'colour'])
      expect(r.stderr).toContain(field);
    expect(r.stderr).toContain('bad.json');
  });

  it('names a missing file and malformed JSON', () => {
    const missing = airlora('validate', join(dir, 'nope.json'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json[^]*ENOENT/);
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"devices": {"count": 3}');
    const broken = airlora('run', file);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/broken\.json.*not valid JSON/);
  });

  it('rejects an unknown option, command or policy with exit status 2', () => {
    expect(airlora('run', '--bogus').status).toBe(2);
    expect(airlora('run', '--bogus').stderr).toContain('--bogus');
    expect(airlora('frobnicate').status).toBe(2);
    const r = airlora('run', '--policy', 'oracle');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown policy 'oracle'");
  });

  it('checks option values and argument counts where they are parsed, naming the option', () => {
    const workers = airlora('run', '--workers', 'two');
    expect(workers.status).toBe(2);
    expect(workers.stderr).toMatch(/--workers <n>.*'two' is invalid.*integer >= 0/);
    const extra = airlora('validate', 'a.json', 'b.json');
    expect(extra.status).toBe(2);
    expect(extra.stderr).toContain('too many arguments');
    const noPolicies = airlora('compare', 'a.json');
    expect(noPolicies.status).toBe(2);
    expect(noPolicies.stderr).toContain('--policies');
    const help = airlora('run', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--set <path=value>');
    expect(airlora().status).toBe(2);
  });

  it('rejects a --set that breaks the schema, naming the field', () => {
    const r = airlora('run', '--set', 'channel.bandwidthHz=-1');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('channel.bandwidthHz');
  });

  it('refuses an unwritable output folder before the run starts', () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const target = join(locked, 'out');
    const r = airlora('run', join(__dirname, '..', 'scenarios', 'quick.json'), '--out', target, '--quiet');
    // root may write anywhere; then the run succeeds, which is also correct behaviour
    if (process.getuid?.() !== 0) {
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/not writable/);
    }
    const file = join(dir, 'file-not-dir');
    writeFileSync(file, 'x');
    const r2 = airlora('run', join(__dirname, '..', 'scenarios', 'quick.json'), '--out', join(file, 'out'), '--quiet');
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/not writable \(ENOTDIR\)/);
  });

  it('solves one slot from an instance file, and names a malformed field', () => {
    const instance = {
      V: 10,
      weight: 1,
      phiEmpty: 2,
      penalty: 'count',
      bandwidthHz: 20e6,
      downlinkBandwidthHz: 20e6,
      noisePsdDbmPerHz: -174,
      noiseFigureDb: 7,
      serverPowerW: 20,
      deadlineS: 2,
      serverFlops: 5e13,
      localIterations: 5,
      kappa: 1e-28,
      payloadBits: { activations: 1.0e6, features: 1.0e6, gradients: 1.0e6, head: 4.1e4 },
      serverFlopsPerIteration: 2.0e9,
      devices: [
        {
          id: 'd0',
          queue: 1.5,
          gain: 3.2e-11,
          powerW: 0.2,
          cpuHz: 1.5e9,
          flopsPerCycle: 16,
          deviceFlopsPerIteration: 5.0e7,
          dataSize: 200,
        },
        { id: 'd1', queue: 0, gain: 1e-10, powerW: 0.2, cpuHz: 1.0e9, flopsPerCycle: 16, deviceFlopsPerIteration: 5.0e7, dataSize: 100 },
      ],
    };
    const file = join(dir, 'slot.json');
    writeFileSync(file, JSON.stringify(instance));
    const r = airlora('solve-slot', file);
    expect(r.status).toBe(0);
    const decision = JSON.parse(r.stdout);
    expect(Array.isArray(decision.admitted)).toBe(true);
    const total = Object.values(decision.bandwidth as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(1 + 1e-9);
    writeFileSync(file, JSON.stringify({ ...instance, bandwidthHz: 'wide' }));
    const bad = airlora('solve-slot', file);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('bandwidthHz');
  });

  it('shows the valid prefix of a truncated log and says where it breaks', () => {
    const writer = new EventLogWriter(createEventLogHeader({ seed: 3 }), { keepLines: true });
    writer.append(
      Array.from({ length: 5 }, (_, i) => ({
        seq: i,
        slot: i,
        t: i,
        kind: 'msg' as const,
        from: 'driver',
        to: `d${i}`,
        type: 'slot-start',
        payload: { bits: 64, value: { slot: i } },
      })),
    );
    const text = `${writer.lines().join('\n')}\n`;
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, text.slice(0, text.length - 20)); // the last line is cut mid-write
    const r = airlora('log', file);
    expect(r.status).toBe(2);
    expect(r.stdout.split('\n').filter((l) => l.includes('slot-start'))).toHaveLength(4);
    expect(r.stderr).toMatch(/events\.jsonl:6: truncated/);
    const filtered = airlora('log', file, '--actor', 'd2');
    expect(filtered.stdout.split('\n').filter((l) => l.includes('slot-start'))).toHaveLength(1);
  });
});
