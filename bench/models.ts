/**
 * Benchmark of the models package: one split training step (device → server → device
 * → server, every hop a message of plain data) on each available backend, the unsplit step in
 * one process, and the gain of restructuring the backward pass around wasm's slow transposed
 * matrix products. Then the server's compute as the simulation runs it (models/compute.ts:
 * the cached forward pass, the backward pass with Adam, the evaluator's scoring) on every backend
 * side by side, onnxruntime against wasm. Prints and writes bench/results/models.txt.
 *
 *   npx tsx bench/models.ts [--iterations 30]
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_MODEL_CONFIG,
  availableBackends,
  createRandomFoundation,
  embed,
  evaluate,
  headStep,
  initBackend,
  initHead,
  initLora,
  initOptimizerState,
  loadDigits,
  splitStep,
  unsplitStep,
  backward,
  tfjsCompute,
  OrtCompute,
  type ServerCompute,
  type BackendName,
  type Foundation,
  type TrainState,
} from '../models';
import { RandomStream } from '../util/random';
import { median } from './median';

/** bench/results in the repository, whether this runs from bench/ (tsx) or dist/bench/ (node). */
const RESULTS_DIR = join(
  __dirname.endsWith(join('dist', 'bench')) ? join(__dirname, '..', '..') : join(__dirname, '..'),
  'bench',
  'results',
);

function timeIt(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(3, iterations); i++) fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

interface Row {
  backend: string;
  embedMs: number;
  encoderForwardMs: number;
  headStepMs: number;
  encoderBackwardMs: number;
  splitMs: number;
  unsplitMs: number;
  unsplitAsWrittenMs: number;
  eval1000Ms: number;
}

interface ServerRow {
  backend: string;
  forwardMs: number;
  backwardMs: number;
  stepMs: number;
  eval1000Ms: number;
}

/** The server's step as a shard runs it for one device (forward keeping its cache, backward with Adam) and the evaluator's 1,000 samples. */
function benchServer(compute: ServerCompute, f: Foundation, iterations: number): ServerRow {
  const { train, test } = loadDigits(1000, 1000);
  const b = 16;
  const lora = initLora(f, RandomStream.fromSeed(1, 'lora'));
  const head = initHead(f, RandomStream.fromSeed(1, 'head'));
  const activations = embed(f, train.features.slice(0, b * 784), b);
  const item = { lora, loraOpt: initOptimizerState(lora), lr: 1e-3 };
  const first = compute.forward([{ lora, activations }], { keys: ['k'] })[0]!;
  const featureGrad = headStep(f, head, initOptimizerState(head), first.features, train.labels.slice(0, b), 1e-3).featureGrad;
  const forwardMs = timeIt(iterations, () => compute.forward([{ lora, activations }], { keys: ['k'] }));
  const backwardMs =
    timeIt(iterations, () => {
      const { cache } = compute.forward([{ lora, activations }], { keys: ['k'] })[0]!;
      backward(compute, [{ ...item, cache, featureGrad }]);
    }) - forwardMs;
  const stepMs = timeIt(iterations, () => {
    const { cache } = compute.forward([{ lora, activations }], { keys: ['k'] })[0]!;
    backward(compute, [{ ...item, cache, featureGrad }]);
  });
  const eval1000Ms = timeIt(Math.max(2, Math.floor(iterations / 10)), () => compute.evaluate(lora, head, test, 1000));
  compute.release('');
  return { backend: compute.backend, forwardMs, backwardMs, stepMs, eval1000Ms };
}

function benchBackend(backend: string, f: Foundation, iterations: number): Row {
  const { train, test } = loadDigits(1000, 1000);
  const b = 16;
  const x = train.features.slice(0, b * 784);
  const y = train.labels.slice(0, b);
  const lora = initLora(f, RandomStream.fromSeed(1, 'lora'));
  const head = initHead(f, RandomStream.fromSeed(1, 'head'));
  let s: TrainState = { lora, head, loraOpt: initOptimizerState(lora), headOpt: initOptimizerState(head) };
  const lr = 1e-3;
  // The stateless server (no intermediates kept: its backward pass runs the forward pass again).
  const server = tfjsCompute(f, backend);
  const a = embed(f, x, b);
  const fw = server.forward([{ lora: s.lora, activations: a }])[0]!;
  const d = headStep(f, s.head, s.headOpt, fw.features, y, lr);
  const parts = {
    embedMs: timeIt(iterations, () => embed(f, x, b)),
    encoderForwardMs: timeIt(iterations, () => server.forward([{ lora: s.lora, activations: a }])),
    headStepMs: timeIt(iterations, () => headStep(f, s.head, s.headOpt, fw.features, y, lr)),
    encoderBackwardMs: timeIt(iterations, () =>
      backward(server, [{ lora: s.lora, loraOpt: s.loraOpt, cache: fw.cache, featureGrad: d.featureGrad, lr }]),
    ),
  };
  const splitMs = timeIt(iterations, () => {
    s = { ...s, ...splitStep(f, server, s, x, y, lr) };
  });
  const unsplitMs = timeIt(iterations, () => {
    s = unsplitStep(f, s, x, y, lr, 'fast');
  });
  const unsplitAsWrittenMs = timeIt(iterations, () => {
    s = unsplitStep(f, s, x, y, lr, 'reference');
  });
  const eval1000Ms = timeIt(Math.max(1, Math.floor(iterations / 10)), () => evaluate(f, s.lora, s.head, test, 1000));
  return { backend, ...parts, splitMs, unsplitMs, unsplitAsWrittenMs, eval1000Ms };
}

/** Plain vs transposed matMul on the shapes the encoder's backward pass uses. */
function benchMatMul(iterations: number): { shape: string; plainMs: number; transposeBMs: number; explicitMs: number }[] {
  const out = [];
  for (const [m, k, n] of [
    [272, 128, 128],
    [272, 256, 128],
    [512, 512, 512],
  ] as const) {
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    const bT = tf.transpose(b);
    // (no typed array returned from tidy: it would walk every element looking for tensors)
    const run = (fn: () => tf.Tensor): number =>
      timeIt(iterations, () =>
        tf.tidy(() => {
          fn().dataSync();
        }),
      );
    out.push({
      shape: `${m}x${k} · ${k}x${n}`,
      plainMs: run(() => tf.matMul(a, b)),
      transposeBMs: run(() => tf.matMul(a, bT, false, true)),
      explicitMs: run(() => tf.matMul(a, tf.transpose(bT))),
    });
    tf.dispose([a, b, bT]);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--iterations');
  const iterations = i >= 0 ? Number(argv[i + 1]) : 30;
  const lines: string[] = [];
  const say = (l: string): void => {
    console.log(l);
    lines.push(l);
  };
  const cpu = cpus();
  say(`# bench/models.ts — ${new Date().toISOString()}`);
  say(
    `machine: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores, Node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  say('note: the machine was shared with other engineers while this ran; figures are medians and still noisy.');
  say(
    `model: d ${DEFAULT_MODEL_CONFIG.dModel}, ${DEFAULT_MODEL_CONFIG.blocks} blocks, ${DEFAULT_MODEL_CONFIG.heads} heads, FFN ${DEFAULT_MODEL_CONFIG.ffnDim}, 17 tokens, LoRA rank ${DEFAULT_MODEL_CONFIG.loraRank} on ${DEFAULT_MODEL_CONFIG.loraTargets.join('+')}; batch 16; Adam`,
  );
  say('');
  const backends = availableBackends();
  say(`backends available: ${backends.join(', ')} (tfjs-node ${backends.includes('node') ? 'loaded' : 'not installed'})`);
  const rows: Row[] = [];
  const servers: ServerRow[] = [];
  const matmuls: Record<string, ReturnType<typeof benchMatMul>> = {};
  for (const name of backends) {
    const got = await initBackend(name as BackendName);
    const f = createRandomFoundation(DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(1, 'bench'));
    const its = got === 'cpu' ? Math.max(3, Math.floor(iterations / 10)) : iterations;
    if (got === 'onnxruntime') {
      const ort = new OrtCompute(f);
      servers.push(benchServer(ort, f, its));
      ort.dispose();
    } else {
      servers.push(benchServer(tfjsCompute(f, got), f, its));
      rows.push(benchBackend(got, f, its));
      matmuls[got] = benchMatMul(its);
    }
    f.dispose();
  }
  say('');
  say(
    "the server's compute as a shard runs it (models/compute.ts), one device of 16 samples, one thread, median ms (the device side is tfjs wasm with onnxruntime):",
  );
  say('backend     | forward (keeps cache) | backward + Adam | server step | eval 1000 | server step vs wasm');
  const wasmServer = servers.find((r) => r.backend === 'wasm');
  for (const r of servers)
    say(
      `${r.backend.padEnd(11)} | ${r.forwardMs.toFixed(2).padStart(21)} | ${r.backwardMs.toFixed(2).padStart(15)} | ${r.stepMs.toFixed(2).padStart(11)} | ${r.eval1000Ms.toFixed(0).padStart(6)} ms | ${wasmServer ? `${(wasmServer.stepMs / r.stepMs).toFixed(2)}x faster` : '—'}`,
    );
  say('');
  say('one training step, median ms:');
  say(
    'backend    | embed | enc fwd | head step | enc bwd | split step | unsplit step | split/unsplit | unsplit as written (tfjs grads) | restructure gain | eval 1000',
  );
  for (const r of rows)
    say(
      `${r.backend.padEnd(10)} | ${r.embedMs.toFixed(1).padStart(5)} | ${r.encoderForwardMs.toFixed(1).padStart(7)} | ${r.headStepMs.toFixed(1).padStart(9)} | ${r.encoderBackwardMs.toFixed(1).padStart(7)} | ${r.splitMs.toFixed(1).padStart(10)} | ${r.unsplitMs.toFixed(1).padStart(12)} | ${(r.splitMs / r.unsplitMs).toFixed(2).padStart(12)}x | ${r.unsplitAsWrittenMs.toFixed(1).padStart(31)} | ${(r.unsplitAsWrittenMs / r.unsplitMs).toFixed(2).padStart(15)}x | ${r.eval1000Ms.toFixed(0).padStart(6)} ms`,
    );
  say('');
  say(
    'split step = embed + encoder forward + head step + encoder backward (which recomputes the forward: the server keeps no tensors between messages).',
  );
  say(
    'unsplit step = the same model in one process with the hand-written gradients; "as written" = tfjs autodiff with transposed products.',
  );
  say('');
  say('matMul, median ms (plain a·b, transposeB kernel, explicit transpose then plain):');
  for (const [backend, ms] of Object.entries(matmuls))
    for (const m of ms)
      say(
        `${backend.padEnd(10)} ${m.shape.padEnd(22)} plain ${m.plainMs.toFixed(2)}  transposeB ${m.transposeBMs.toFixed(2)}  transpose+plain ${m.explicitMs.toFixed(2)}`,
      );
  const wasm = rows.find((r) => r.backend === 'wasm');
  if (wasm) {
    say('');
    const perSim = (5000 * wasm.splitMs + 100 * wasm.eval1000Ms) / 1000;
    say(
      `full simulation estimate on wasm, one core: 5,000 split steps + 100 evaluations of 1,000 = ${perSim.toFixed(0)} s (${(perSim / 2).toFixed(0)} s on 2 workers at perfect scaling)`,
    );
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'models.txt'), `${lines.join('\n')}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
