/**
 * The hardware ceiling for the worker pool: the same split training steps run in 1 and in 2 worker
 * threads at once, with no runtime, log or channel in between. Compare its speed-up with the
 * simulation's (bench/scale.ts). Two kinds of step: 'plain' (split.ts's splitStep, the server
 * recomputing the forward pass) and 'cached' (the pair the server shards run: encoderForwardCached,
 * headStep, encoderBackwardCached). Run: node dist/bench/parallelSteps.js [steps] [plain|cached|both]
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { cpus, loadavg } from 'node:os';

async function workerMain(steps: number, kind: string): Promise<void> {
  const m = await import('../models');
  const { RandomStream } = await import('../runtime/random');
  await m.initBackend();
  const f = await m.loadFoundation({ config: m.DEFAULT_MODEL_CONFIG });
  const random = RandomStream.fromSeed(1);
  const { train } = m.loadDigits(512, 16);
  let state = { lora: m.initLora(f, random.fork('l')), head: m.initHead(f, random.fork('h')), loraOpt: undefined as unknown, headOpt: undefined as unknown };
  state = { ...state, loraOpt: m.initOptimizerState(state.lora), headOpt: m.initOptimizerState(state.head) };
  const batch = () => m.selectBatch(train, 16, random);
  const cached = kind === 'cached';
  const one = () => {
    const b = batch();
    if (cached) {
      const s = state as unknown as { lora: Record<string, Float32Array>; head: Record<string, Float32Array>; loraOpt: import('../models').OptimizerState; headOpt: import('../models').OptimizerState };
      const a = m.embed(f, b.features, 16);
      const fw = m.encoderForwardCached(f, s.lora, a);
      const h = m.headStep(f, s.head, s.headOpt, fw.features, b.labels, 1e-3);
      const bw = m.encoderBackwardCached(f, s.lora, s.loraOpt, fw.cache, h.featureGrad, 1e-3);
      state = { lora: bw.lora, loraOpt: bw.loraOpt, head: h.head, headOpt: h.headOpt } as never;
      return;
    }
    const r = m.splitStep(f, state as never, b.features, b.labels, 1e-3);
    state = r as never;
  };
  for (let i = 0; i < 5; i++) one(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) one();
  parentPort!.postMessage((performance.now() - t0) / steps);
}

async function run(threads: number, steps: number, kind: string): Promise<{ wallS: number; msPerStep: number[] }> {
  const t0 = performance.now();
  const per = await Promise.all(
    Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { steps, kind } });
      w.once('message', (ms: number) => { resolve(ms); void w.terminate(); });
      w.once('error', reject);
    })),
  );
  return { wallS: (performance.now() - t0) / 1000, msPerStep: per };
}

async function main(): Promise<void> {
  const steps = Number(process.argv[2] ?? 60);
  const which = process.argv[3] ?? 'both';
  const kinds = which === 'both' ? ['plain', 'cached'] : [which];
  console.log(`machine: ${cpus()[0]?.model ?? '?'} x ${cpus().length}, node ${process.version}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const kind of kinds) {
    const a = await run(1, steps, kind);
    const b = await run(2, steps, kind);
    const one = a.msPerStep[0] as number;
    const two = b.msPerStep.reduce((s, x) => s + x, 0) / b.msPerStep.length;
    console.log(`${kind} split step, 1 thread alone: ${one.toFixed(1)} ms; 2 threads at once: ${two.toFixed(1)} ms each; throughput speed-up of 2 threads over 1: ${((2 * one) / two).toFixed(2)}x`);
  }
  console.log(`load at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

if (isMainThread) void main();
else void workerMain((workerData as { steps: number; kind: string }).steps, (workerData as { kind: string }).kind);
