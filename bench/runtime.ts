/**
 * Benchmark of the actor runtime (docs/architecture.md): messages per second within a worker and across
 * workers, and the cost of moving a 16x32x128 float32 tensor between workers. Wall-clock reads
 * here measure the simulator's own cost only. Run after a build: `node dist/bench/runtime.js`
 * (writes bench/results/runtime.txt).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActorKind } from '../runtime/actor';
import { createRuntime, type ActorSpec } from '../runtime/system';

/** This module, extensionless: the workers load the kinds below from it. */
const MODULE = path.join(__dirname, 'runtime');

/** Ping-pong: a 'ball' with hops left goes back to the sender (or to params.partner from the driver). */
export const pingPong: ActorKind<{ partner: string }, { partner: string }> = {
  kind: 'bench-pingpong',
  initialState: (p) => ({ partner: p.partner }),
  transition: (s, m) => {
    const body = m.body as { hops: number; x?: Float32Array };
    if (body.hops <= 0) return [s, [{ kind: 'send', to: 'driver', type: 'done', body: { hops: 0 } }]];
    return [s, [{ kind: 'send', to: m.from === 'driver' ? s.partner : m.from, type: 'ball', body: { hops: body.hops - 1, x: body.x } }]];
  },
};

interface Figure {
  readonly label: string;
  readonly value: string;
}

async function pingPongRate(workers: number, pairs: number, hops: number, colocate: boolean, slots: number): Promise<number> {
  const topology: ActorSpec[] = [];
  for (let p = 0; p < pairs; p++) {
    const w = Math.max(1, workers);
    const a = { worker: p % w };
    const b = { worker: colocate ? p % w : (p + 1) % w };
    topology.push({ id: `p${p}a`, kind: 'bench-pingpong', module: MODULE, params: { partner: `p${p}b` }, placement: a });
    topology.push({ id: `p${p}b`, kind: 'bench-pingpong', module: MODULE, params: { partner: `p${p}a` }, placement: b });
  }
  const rt = await createRuntime({ seed: 1, workers, topology });
  try {
    const run = async (slot: number) => {
      for (let p = 0; p < pairs; p++) rt.send(`p${p}a`, 'ball', { hops });
      await rt.runSlot(slot);
    };
    await run(0); // warm-up
    const before = rt.stats().messages;
    const t0 = performance.now();
    for (let s = 1; s <= slots; s++) await run(s);
    const wallS = (performance.now() - t0) / 1000;
    return (rt.stats().messages - before) / wallS;
  } finally {
    await rt.close();
  }
}

/** Microseconds per hop of a ball between two actors on different workers, carrying `x` or nothing. */
async function hopCostUs(x: Float32Array | undefined, hops: number, reps: number): Promise<number> {
  const topology: ActorSpec[] = [
    { id: 'a', kind: 'bench-pingpong', module: MODULE, params: { partner: 'b' }, placement: { worker: 0 } },
    { id: 'b', kind: 'bench-pingpong', module: MODULE, params: { partner: 'a' }, placement: { worker: 1 } },
  ];
  const rt = await createRuntime({ seed: 1, workers: 2, topology });
  try {
    rt.send('a', 'ball', { hops: 4, x });
    await rt.runSlot(0);
    const samples: number[] = [];
    for (let r = 1; r <= reps; r++) {
      rt.send('a', 'ball', { hops, x });
      const t0 = performance.now();
      await rt.runSlot(r);
      samples.push(((performance.now() - t0) * 1000) / (hops + 1));
    }
    samples.sort((p, q) => p - q);
    return samples[Math.floor(samples.length / 2)]!;
  } finally {
    await rt.close();
  }
}

/** Runs the benchmark; returns the report text. */
export async function benchRuntime(): Promise<string> {
  const figures: Figure[] = [];
  const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')} msg/s`;
  figures.push({ label: 'in-process executor (workers: 0), 100 pairs x 200 hops', value: rate(await pingPongRate(0, 100, 200, true, 5)) });
  figures.push({
    label: 'within a worker (2 workers, partners co-located), 100 pairs x 200 hops',
    value: rate(await pingPongRate(2, 100, 200, true, 5)),
  });
  figures.push({
    label: 'across workers (2 workers, partners apart), 100 pairs x 200 hops',
    value: rate(await pingPongRate(2, 100, 200, false, 5)),
  });
  const tensor = new Float32Array(16 * 32 * 128);
  for (let i = 0; i < tensor.length; i++) tensor[i] = (i % 97) / 97;
  const empty = await hopCostUs(undefined, 50, 9);
  const moved = await hopCostUs(tensor, 50, 9);
  figures.push({ label: 'one hop between workers, empty body (median, µs)', value: empty.toFixed(0) });
  figures.push({ label: 'one hop between workers, 16x32x128 float32 (256 KiB) body (median, µs)', value: moved.toFixed(0) });
  figures.push({ label: 'cost of moving the tensor per hop (difference, µs)', value: (moved - empty).toFixed(0) });
  const cpus = os.cpus();
  const lines = [
    `airlora runtime benchmark, ${new Date().toISOString()}`,
    `machine: ${cpus[0]?.model ?? 'unknown cpu'} x ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`,
    `load average at start (1/5/15 min): ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
    'a hop between workers goes worker -> main thread (ordering, log) -> worker; bodies are moved (transferred), not copied',
    ...figures.map((f) => `${f.label.padEnd(82)} ${f.value}`),
  ];
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  benchRuntime().then(
    (text) => {
      process.stdout.write(text);
      const out = path.join(__dirname, '..', '..', 'bench', 'results', 'runtime.txt');
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, text);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
