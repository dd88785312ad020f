/**
 * The hardware ceiling for the worker pool: the same split training steps run in 1 and in 2 worker
 * threads at once, with no runtime, log or channel in between. Compare its speed-up with the
 * simulation's (bench/scale.ts). Two kinds of step: 'plain' (split.ts's splitStep, the server
 * recomputing the forward pass) and 'cached' (the pair the server shards run: compute.forward with a key,
 * headStep, backward from the kept intermediates). Two probes of the cores themselves, no model: 'alu', a
 * latency-bound integer loop (one dependent chain), and 'fp', a throughput-bound floating-point
 * loop (eight independent multiply-add chains over 4 KiB that stay in L1). Two separate cores run
 * both at 2x; two hardware threads of one core (SMT) share the floating-point units, so 'fp'
 * scales well below 2x there while 'alu' still does 2x.
 *   node dist/bench/parallelSteps.js [steps] [plain,cached,alu,fp | both] [repeat]
 * Each kind runs 1 thread alone, then 2 at once, `repeat` times in turn; medians of the ratios.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cpus, loadavg } from 'node:os';
import { sizeWorkerHeaps } from '../runtime/piscinaTransport';
import { median } from './median';

/** A latency-bound integer step: one dependent chain of 2e7 multiply-adds. */
function aluStep(): number {
  let x = 1;
  for (let i = 0; i < 2e7; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0;
  return x;
}

const FP_VALUES = Float64Array.from({ length: 512 }, (_, i) => 1 + i * 1e-9);
/** A throughput-bound floating-point step: eight independent chains, 100,000 passes over 4 KiB. */
function fpStep(): number {
  const a = FP_VALUES;
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    s4 = 0,
    s5 = 0,
    s6 = 0,
    s7 = 0;
  for (let r = 0; r < 100_000; r++) {
    for (let i = 0; i < 512; i += 8) {
      s0 += a[i]! * 1.0000001;
      s1 += a[i + 1]! * 0.9999999;
      s2 += a[i + 2]! * 1.0000002;
      s3 += a[i + 3]! * 0.9999998;
      s4 += a[i + 4]! * 1.0000003;
      s5 += a[i + 5]! * 0.9999997;
      s6 += a[i + 6]! * 1.0000004;
      s7 += a[i + 7]! * 0.9999996;
    }
  }
  return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

function probeMain(steps: number, step: () => number): void {
  let sink = 0;
  for (let i = 0; i < 3; i++) sink += step(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) sink += step();
  parentPort!.postMessage({ ms: (performance.now() - t0) / steps, sink });
}

async function workerMain(steps: number, kind: string): Promise<void> {
  if (kind === 'alu' || kind === 'fp') return probeMain(steps, kind === 'alu' ? aluStep : fpStep);
  const m = await import('../models');
  const { RandomStream } = await import('../util/random');
  await m.initBackend();
  const f = await m.loadFoundation({ config: m.DEFAULT_MODEL_CONFIG });
  const random = RandomStream.fromSeed(1);
  const { train } = m.loadDigits(512, 16);
  let state = {
    lora: m.initLora(f, random.fork('l')),
    head: m.initHead(f, random.fork('h')),
    loraOpt: undefined as unknown,
    headOpt: undefined as unknown,
  };
  state = { ...state, loraOpt: m.initOptimizerState(state.lora), headOpt: m.initOptimizerState(state.head) };
  const batch = () => m.selectBatch(train, 16, random);
  const cached = kind === 'cached';
  const server = m.tfjsCompute(f);
  const one = () => {
    const b = batch();
    if (cached) {
      const s = state as unknown as {
        lora: Record<string, Float32Array>;
        head: Record<string, Float32Array>;
        loraOpt: import('../models').OptimizerState;
        headOpt: import('../models').OptimizerState;
      };
      const a = m.embed(f, b.features, 16);
      const fw = server.forward([{ lora: s.lora, activations: a }], { keys: ['k'] })[0]!;
      const h = m.headStep(f, s.head, s.headOpt, fw.features, b.labels, 1e-3);
      const bw = m.backward(server, [{ lora: s.lora, loraOpt: s.loraOpt, cache: fw.cache, featureGrad: h.featureGrad, lr: 1e-3 }])[0]!;
      state = { lora: bw.lora, loraOpt: bw.loraOpt, head: h.head, headOpt: h.headOpt } as never;
      return;
    }
    const r = m.splitStep(f, server, state as never, b.features, b.labels, 1e-3);
    state = r as never;
  };
  for (let i = 0; i < 5; i++) one(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) one();
  parentPort!.postMessage({ ms: (performance.now() - t0) / steps });
}

async function run(threads: number, steps: number, kind: string): Promise<{ wallS: number; msPerStep: number[] }> {
  const t0 = performance.now();
  const per = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(__filename, { workerData: { steps, kind } });
          w.once('message', (r: { ms: number }) => {
            resolve(r.ms);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return { wallS: (performance.now() - t0) / 1000, msPerStep: per };
}

async function main(): Promise<void> {
  sizeWorkerHeaps(); // the same worker heaps as the simulation's pool
  const steps = Number(process.argv[2] ?? 60);
  const which = process.argv[3] ?? 'both';
  const repeat = Number(process.argv[4] ?? 1);
  const kinds = which === 'both' ? ['plain', 'cached'] : which.split(',');
  console.log(
    `machine: ${cpus()[0]?.model ?? '?'} x ${cpus().length}, node ${process.version}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  for (const kind of kinds) {
    const ratios: number[] = [];
    const what = kind === 'alu' || kind === 'fp' ? `${kind} probe step` : `${kind} split step`;
    for (let i = 0; i < repeat; i++) {
      const a = await run(1, steps, kind);
      const b = await run(2, steps, kind);
      const one = a.msPerStep[0] as number;
      const two = b.msPerStep.reduce((s, x) => s + x, 0) / b.msPerStep.length;
      ratios.push((2 * one) / two);
      console.log(
        `${what}, 1 thread alone: ${one.toFixed(1)} ms; 2 threads at once: ${two.toFixed(1)} ms each; throughput speed-up of 2 threads over 1: ${((2 * one) / two).toFixed(2)}x`,
      );
    }
    if (repeat > 1)
      console.log(
        `${what}: median speed-up over ${repeat} alternations ${median(ratios).toFixed(2)}x (${ratios.map((x) => x.toFixed(2)).join(', ')})`,
      );
  }
  console.log(
    `load at end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

if (isMainThread) void main();
else void workerMain((workerData as { steps: number; kind: string }).steps, (workerData as { kind: string }).kind);
