/**
 * One run's actor hosts on `airlora worker` processes through NATS, for real:
 * a throwaway nats-server whose max_payload is 64 KiB (so that tensors cross in many frames), three
 * workers started from the build. `airlora run quick.json --nats URL --hosts 2` writes the
 * events.jsonl of `--workers 2` byte for byte, and so does such a run stopped with SIGINT and resumed
 * on hosts (`resume DIR --nats URL --hosts 2`); a host killed with SIGKILL mid-run, and a host
 * stopped with SIGSTOP mid-run, are restored on another worker from the slot's start: the same
 * bytes again. In this process: frames under max_payload, and a worker of another version refused.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { deserialize, FrameAssembler, maxPayloadOf, publishFrames, readFrame, serialize } from '../runtime/natsFrames';
import { serveHosts } from '../runtime/natsHosts';
import { HostsUnavailableError, NatsTransport } from '../runtime/natsTransport';
import { InlineTransport } from '../runtime/transport';
import { parseScenario, ScenarioError } from '../app/scenario';
import { startNatsServer, type TestNatsServer } from './natsServer';

const BIN = join(__dirname, '..', 'bin', 'airlora.js');
const QUICK = join(__dirname, '..', 'scenarios', 'quick.json');
const root = mkdtempSync(join(tmpdir(), 'airlora-hosts-'));
const MAX_PAYLOAD = 64 * 1024;
/** Few rounds; a lost host is noticed within 2 s. */
const RUN = [QUICK, '--rounds', '4', '--quiet'];
const TIMEOUT = ['--set', 'runtime.hostTimeoutS=2'];

interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(args: string[]): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

/** Resolves once `ready()` holds, checked every 50 ms; rejects after `ms`. */
async function until(ready: () => boolean, what: string, ms = 120_000): Promise<void> {
  const since = Date.now();
  while (!ready()) {
    if (Date.now() - since > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let server: TestNatsServer;
const workers: Spawned[] = [];
const workerIdOf = (w: Spawned): string | undefined => /worker (\S+) on nats/.exec(w.output())?.[1];
const reference = join(root, 'reference');

beforeAll(async () => {
  server = await startNatsServer({ maxPayloadBytes: MAX_PAYLOAD });
  for (let i = 0; i < 3; i++) workers.push(start(['worker', '--nats', server.url, '--runs', '1']));
  const r = spawnSync(process.execPath, [BIN, 'run', ...RUN, '--workers', '2', '--out', reference], { encoding: 'utf8', timeout: 300_000 });
  expect(r.status).toBe(0);
  await until(() => workers.every((w) => workerIdOf(w) !== undefined), 'three workers');
}, 300_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  await server?.stop();
}, 60_000);

/** Runs quick.json on 2 hosts; `fault` is called with the worker of host 0 once slot 0 is in the log. */
async function runOnHosts(out: string, fault?: (victim: Spawned) => void): Promise<{ status: number | null; output: string }> {
  const run = start(['run', ...RUN, ...TIMEOUT, '--nats', server.url, '--hosts', '2', '--out', out]);
  if (fault) {
    await until(
      () =>
        /host 1 on worker \S+/.test(run.output()) &&
        existsSync(join(out, 'events.jsonl')) &&
        statSync(join(out, 'events.jsonl')).size > 20_000,
      'slot 0 of the run',
    );
    const id = /host 0 on worker (\S+)/.exec(run.output())![1];
    const victim = workers.find((w) => workerIdOf(w) === id)!;
    fault(victim);
  }
  return { status: await run.exited, output: run.output() };
}

const events = (dir: string): Buffer => readFileSync(join(dir, 'events.jsonl'));
const summary = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { logHash: string; runtime: { transport: string; recoveries: number } };

describe('airlora run --nats URL --hosts 2', () => {
  it('writes the events.jsonl of --workers 2, byte for byte (tensors in 64 KiB frames)', async () => {
    const out = join(root, 'hosts');
    const r = await runOnHosts(out);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/host 0 on worker \S+\nhost 1 on worker \S+/);
    expect(events(out).equals(events(reference))).toBe(true);
    expect(summary(out).logHash).toBe(summary(reference).logHash);
    expect(summary(out).runtime.transport).toBe('nats');
  }, 120_000);

  it('a run stopped with SIGINT resumes on hosts (resume DIR --nats URL --hosts 2): the events.jsonl of the run never stopped', async () => {
    // Prepare: the run on two hosts (of the three workers, before the tests below kill two), stopped once its first
    // checkpoint (after slot 1 of quick.json) is on disk.
    const out = join(root, 'resumed');
    const run = start(['run', ...RUN, ...TIMEOUT, '--nats', server.url, '--hosts', '2', '--out', out]);
    await until(() => existsSync(join(out, 'checkpoints', 'checkpoint.json')) || run.child.exitCode !== null, 'the first checkpoint');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.output()).toContain(`airlora resume ${out}`);
    // Execute
    const r = spawnSync(process.execPath, [BIN, 'resume', out, '--nats', server.url, '--hosts', '2', '--quiet'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    // Assert: resumed on the hosts, and the log is the uninterrupted run's, byte for byte.
    expect(r.status).toBe(0);
    expect(summary(out).runtime.transport).toBe('nats');
    expect(events(out).equals(events(reference))).toBe(true);
  }, 180_000);

  it("a host killed with SIGKILL mid-run: its actors restart on another worker from the slot's start; the same log", async () => {
    const out = join(root, 'killed');
    const r = await runOnHosts(out, (victim) => victim.child.kill('SIGKILL'));
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/host 0 on worker \S+ lost: gave no sign for 2 s/);
    expect(summary(out).runtime.recoveries).toBeGreaterThanOrEqual(1);
    expect(events(out).equals(events(reference))).toBe(true);
  }, 120_000);

  it('a host stopped with SIGSTOP mid-run: the same', async () => {
    const out = join(root, 'stopped');
    let stopped: Spawned | undefined;
    const r = await runOnHosts(out, (victim) => {
      stopped = victim;
      victim.child.kill('SIGSTOP');
    });
    stopped?.child.kill('SIGKILL');
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/host 0 on worker \S+ lost: gave no sign for 2 s/);
    expect(summary(out).runtime.recoveries).toBeGreaterThanOrEqual(1);
    expect(events(out).equals(events(reference))).toBe(true);
  }, 120_000);

  it('--hosts without --nats, and --hosts with --workers, are usage errors (exit 2)', () => {
    const a = spawnSync(process.execPath, [BIN, 'run', ...RUN, '--hosts', '2'], { encoding: 'utf8' });
    expect(a.status).toBe(2);
    expect(a.stderr).toContain('run: --hosts needs --nats URL');
    const b = spawnSync(process.execPath, [BIN, 'run', ...RUN, '--hosts', '2', '--nats', server.url, '--workers', '2'], {
      encoding: 'utf8',
    });
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('--workers (threads here) and --hosts (worker processes) exclude each other');
  });
});

describe('the NATS transport in this process', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc.close();
  });

  it('cuts a value into frames under max_payload and puts it back, every typed array on a buffer of its own', async () => {
    expect(maxPayloadOf(nc)).toBe(MAX_PAYLOAD);
    const big = Float32Array.from({ length: 300_000 }, (_, i) => Math.sin(i));
    const value = { big, small: new Map([['a', new Int16Array([1, -2, 3])]]), tail: new Float64Array([Math.PI]) };
    const frames = new FrameAssembler();
    let count = 0;
    const whole = new Promise<Uint8Array>((resolve) => {
      nc.subscribe('test.frames', {
        callback: (_e, m) => {
          count++;
          expect(m.data.byteLength).toBeLessThanOrEqual(MAX_PAYLOAD);
          const { header, slice } = readFrame(m.data);
          const bytes = frames.add(header, slice);
          if (bytes) resolve(bytes);
        },
      });
    });
    publishFrames(nc, 'test.frames', { call: 0, session: 's', kind: 'ok' }, serialize(value));
    const back = deserialize(await whole) as typeof value;
    expect(count).toBeGreaterThan(1_200_000 / MAX_PAYLOAD);
    expect(back.big).toEqual(big);
    expect(back.small.get('a')).toEqual(new Int16Array([1, -2, 3]));
    expect(back.tail).toEqual(new Float64Array([Math.PI]));
    for (const a of [back.big, back.small.get('a')!, back.tail]) {
      expect(a.byteOffset).toBe(0);
      expect(a.buffer.byteLength).toBe(a.byteLength);
    }
  });

  it('refuses a worker of another airlora version, naming both versions', async () => {
    const service = await serveHosts(nc, { worker: 'elsewhere:1', version: '0.0.0-other', localTransport: () => new InlineTransport() });
    const transport = new NatsTransport(nc, { hosts: 4, callTimeoutMs: 1000, version: '0.1.0', waitForWorkersMs: 1_000 });
    try {
      const opened = transport.open(0);
      await expect(opened).rejects.toThrow(HostsUnavailableError);
      await expect(opened).rejects.toThrow(/worker elsewhere:1 is airlora 0\.0\.0-other; this run is airlora 0\.1\.0/);
    } finally {
      await transport.close();
      await service.stop();
    }
  });

  it('runtime.hostTimeoutS: a positive number of seconds, named when it is not', () => {
    expect(() => parseScenario({ runtime: { hostTimeoutS: 0 } }, 'bad.json')).toThrow(ScenarioError);
    expect(() => parseScenario({ runtime: { hostTimeoutS: 0 } }, 'bad.json')).toThrow(/runtime\.hostTimeoutS/);
    expect(parseScenario({ runtime: { hostTimeoutS: 5 } }, 'ok.json').runtime.hostTimeoutS).toBe(5);
  });
});
