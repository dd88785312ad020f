/**
 * The cost of the network path: one run's actor hosts on 2 `airlora worker`
 * processes through a local nats-server, against 2 piscina worker threads, side by side in one run.
 *
 *   npm run bench:cluster -- [--repeat 2] [--rounds50 4] [--rounds1000 3] [--scenarios cell-50,cell-1000]
 *
 * (a) time per slot (one slot per round) of cell-50 and cell-1000 for a few rounds, both ways,
 *     alternating within each repetition: the steady-state wall per round (the rounds after the
 *     first, so start-up is apart) and the ratio NATS / piscina; the two event logs are compared
 *     byte for byte. The server, both workers and the coordinator share this machine's cores, as
 *     the piscina threads do: the ratio is the cost of the path (serialization, framing, the
 *     server's hops, a worker thread behind each worker process), not of a network.
 * (b) tensor throughput through NATS: a Float32Array of 1, 8 and 32 MiB serialized, cut into
 *     frames under the server's max_payload (NATS's default 1 MB), published on one connection,
 *     received on another, put back together and deserialized; MB/s (10^6 bytes) over 5 sends, median.
 * Writes bench/results/cluster.txt with the machine and the load average around every figure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { median } from './median';
import { startNatsServer } from './natsServer';

/** The repository: two levels up from dist/bench, one from bench/ (tsx). */
const REPO = __dirname.endsWith(join('dist', 'bench')) ? join(__dirname, '..', '..') : join(__dirname, '..');
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
};
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
const machine = (): string => {
  const c = cpus();
  return `${c[0]?.model.trim() ?? '?'} x ${c.length} logical cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`;
};

/** Starts `airlora worker` (the build) and resolves once it serves hosts. */
function startWorker(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'airlora.js'), 'worker', '--nats', url, '--runs', '1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d) => {
      text += d;
      if (/actor hosts of runs on/.test(text)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before it served hosts:\n${text}`)));
  });
}

interface Timed {
  /** Start-up and the first round. */
  firstS: number;
  /** Wall per round after the first. */
  perSlotS: number;
  logHash: string;
  events: Buffer;
}

/** One run of `name` for `rounds` rounds, on 2 piscina workers or on 2 NATS hosts. */
async function timedRun(name: string, rounds: number, hosts: { url: string; count: number } | undefined, dir: string): Promise<Timed> {
  const { loadScenario } = await import('../app/scenario');
  const { runToFolder } = await import('../app/sim/run');
  const s = loadScenario(join(REPO, 'scenarios', `${name}.json`));
  const scenario = { ...s, training: { ...s.training, rounds } };
  const walls: number[] = [];
  const out = join(dir, `${name}-${hosts ? 'nats' : 'piscina'}`);
  rmSync(out, { recursive: true, force: true });
  const started = performance.now();
  const r = await runToFolder(scenario, {
    outDir: out,
    onRound: () => walls.push((performance.now() - started) / 1000),
    ...(hosts ? { hosts } : { workers: 2 }),
  });
  const firstS = walls[0] ?? Number.NaN;
  return {
    firstS,
    perSlotS: ((walls[walls.length - 1] ?? firstS) - firstS) / Math.max(1, walls.length - 1),
    logHash: r.summary.logHash,
    events: readFileSync(join(out, 'events.jsonl')),
  };
}

/** MB/s of a tensor through NATS frames, one connection to another. */
async function throughput(url: string, mib: number, sends: number): Promise<{ mbPerS: number; frames: number; maxPayload: number }> {
  const { deserialize, FrameAssembler, maxPayloadOf, publishFrames, readFrame, serialize } = await import('../runtime/natsFrames');
  const [a, b] = await Promise.all([connect({ servers: url }), connect({ servers: url })]);
  const tensor = Float32Array.from({ length: (mib * 2 ** 20) / 4 }, (_, i) => i % 251);
  const frames = new FrameAssembler();
  let frameCount = 0;
  let done: (v: Float32Array) => void = () => undefined;
  b.subscribe('bench.tensor', {
    callback: (_e, m) => {
      frameCount++;
      const { header, slice } = readFrame(m.data);
      const whole = frames.add(header, slice);
      if (whole) done(deserialize(whole) as Float32Array);
    },
  });
  await b.flush();
  const rates: number[] = [];
  for (let i = 0; i < sends; i++) {
    frameCount = 0;
    const got = new Promise<Float32Array>((r) => (done = r));
    const t0 = performance.now();
    publishFrames(a, 'bench.tensor', { call: i, session: 'bench', kind: 'ok' }, serialize(tensor));
    const back = await got;
    const s = (performance.now() - t0) / 1000;
    if (back.length !== tensor.length || back[12345 % back.length] !== tensor[12345 % tensor.length])
      throw new Error('the tensor came back different');
    rates.push(tensor.byteLength / 1e6 / s);
  }
  const maxPayload = maxPayloadOf(a);
  await Promise.all([a.close(), b.close()]);
  return { mbPerS: median(rates), frames: frameCount, maxPayload };
}

async function main(): Promise<void> {
  const repeat = Number(opt('repeat', '2'));
  const rounds: Record<string, number> = { 'cell-50': Number(opt('rounds50', '4')), 'cell-1000': Number(opt('rounds1000', '3')) };
  const scenarios = opt('scenarios', 'cell-50,cell-1000').split(',');
  const lines: string[] = [];
  const say = (s: string): void => {
    lines.push(s);
    console.log(s);
  };
  say(`bench/cluster.ts, ${new Date().toISOString()}`);
  say(
    `machine: ${machine()}; shared with other jobs while measured (load average 1 / 5 / 15 min given per figure): read the ratios, measured side by side, not the absolute times`,
  );
  say('nats-server, the coordinator (this process), and both workers (or both piscina threads) on this one machine');
  const server = await startNatsServer();
  const workers = await Promise.all([startWorker(server.url), startWorker(server.url)]);
  const dir = mkdtempSync(join(tmpdir(), 'airlora-bench-cluster-'));
  try {
    say('');
    say(
      '(a) wall per slot (one slot per round), steady state (rounds after the first); 2 piscina worker threads vs 2 NATS hosts (airlora worker processes), alternating',
    );
    for (const name of scenarios) {
      const perSlot: Record<'piscina' | 'nats', number[]> = { piscina: [], nats: [] };
      for (let rep = 0; rep < repeat; rep++) {
        const order: Array<'piscina' | 'nats'> = rep % 2 === 0 ? ['piscina', 'nats'] : ['nats', 'piscina'];
        const got: Partial<Record<'piscina' | 'nats', Timed>> = {};
        for (const way of order) {
          const before = load();
          const t = await timedRun(name, rounds[name] ?? 3, way === 'nats' ? { url: server.url, count: 2 } : undefined, dir);
          got[way] = t;
          perSlot[way].push(t.perSlotS);
          say(
            `  ${name}, ${rounds[name]} rounds, ${way.padEnd(7)}: start-up + round 0 ${t.firstS.toFixed(2)} s, ${t.perSlotS.toFixed(3)} s/slot after; load ${before} → ${load()}`,
          );
        }
        say(
          `  ${name}: event logs ${got.piscina!.events.equals(got.nats!.events) ? 'identical' : 'DIFFERENT'} (log hash ${got.nats!.logHash.slice(0, 16)}…)`,
        );
      }
      const p = median(perSlot.piscina);
      const n = median(perSlot.nats);
      say(`  ${name}: median ${p.toFixed(3)} s/slot on piscina, ${n.toFixed(3)} s/slot on NATS: NATS / piscina = ${(n / p).toFixed(2)}x`);
    }
    say('');
    say(
      '(b) tensor throughput through NATS: serialize, frames under max_payload, publish, receive on another connection, reassemble, deserialize; median of 5',
    );
    for (const mib of [1, 8, 32]) {
      const before = load();
      const t = await throughput(server.url, mib, 5);
      say(
        `  ${String(mib).padStart(2)} MiB Float32Array: ${t.mbPerS.toFixed(0)} MB/s (${t.frames} frames of at most ${t.maxPayload} bytes); load ${before} → ${load()}`,
      );
    }
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.on('exit', r)))));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
  writeFileSync(join(REPO, 'bench', 'results', 'cluster.txt'), `${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
