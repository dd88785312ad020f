/**
 * Scale and speed benchmark. Every measured part runs in a child process of its own, so
 * that peak RSS and the model-time counter belong to that part alone.
 *
 *   node dist/bench/scale.js [--rounds 10] [--repeat 1] [--workers 1,2] [--backends onnxruntime,wasm] [--large-rounds 4] [--parts speedup,large,throughput,share] [--set model.checkpoint=DIR]
 *
 * (a) speed-up: cell-50 for --rounds rounds through runToFolder with 1 and 2 workers: wall per
 *     round (steady state: the rounds after the first, so start-up is apart) and the ratio, on
 *     each of --backends, then the backends side by side.
 * (b) large: cell-500 and cell-1000 run to completion (2 workers): wall per round, peak RSS of the
 *     process (main thread and worker threads together) sampled every 50 ms.
 * (c) throughput: the server's split step (encoder forward + backward with Adam) for D devices of
 *     16 samples each, unbatched (the cached pair once per device) against the multi-adapter
 *     batched pass (the cached pair once over all D, models/compute.ts), in samples per second, on
 *     each of --backends (add cpu to the list for it); and the full split step (embed, encoder, head, backward) both
 *     ways. The two ways alternate within each repetition; medians.
 * (d) share: wall time outside model compute. Method: models/timing.ts adds the wall-clock time
 *     of every model call (each tf.tidy-wrapped call of split.ts / tfjsCompute.ts, each batched pass
 *     of onnx/ortCompute.ts with its feeds stacked and outputs sliced, and each Adam update) into a SharedArrayBuffer shared with the worker threads. With 1 worker every model
 *     call runs on that one worker while the main thread waits (a superstep is synchronous), so
 *     wall − model is the time spent in the runtime, messages, channel, scheduler, log and
 *     start-up. Reported for the whole run and for the steady-state rounds (both clocks read as
 *     each round's row is written, through runToFolder's onRound).
 * Writes bench/results/scale.txt with the machine and the load average of every figure.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './median';

/** The repository: two levels up from dist/bench, one from bench/ (tsx). */
const REPO = __dirname.endsWith(join('dist', 'bench')) ? join(__dirname, '..', '..') : join(__dirname, '..');

const argv = process.argv.slice(2);
function opt(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
}
function opts(name: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => a === `--${name}` && argv[i + 1] !== undefined && out.push(argv[i + 1] as string));
  return out;
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
const mib = (bytes: number): number => bytes / 2 ** 20;

// ---------------------------------------------------------------- child: one run of a scenario

interface RunOut {
  scenario: string;
  devices: number;
  workers: number;
  rounds: number;
  admitted: number[];
  wallS: number;
  /** Wall clock at the end of each round (the driver's wallS column). */
  roundWallS: number[];
  modelS: number;
  modelCalls: number;
  /** Model compute summed over threads, read as each round's row is written (onRound). */
  modelAtRoundS: number[];
  /** Wall clock of this process at each round's row. */
  wallAtRoundS: number[];
  peakRssMiB: number;
  loadBefore: string;
  loadAfter: string;
}

async function childRun(): Promise<void> {
  const models = await import('../models');
  models.enableModelTiming(); // before the workers start: they inherit the counter
  const { applyOverride, parseScenario } = await import('../app/scenario');
  const { runToFolder } = await import('../app/sim/run');
  const file = opt('scenario', join(REPO, 'scenarios', 'cell-50.json'));
  let raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  for (const s of opts('set')) raw = applyOverride(raw, s);
  const rounds = opt('rounds', '');
  if (rounds) raw = applyOverride(raw, `training.rounds=${rounds}`);
  const scenario = parseScenario(raw, file);
  const workers = Number(opt('workers', '1'));
  const out = mkdtempSync(join(tmpdir(), 'airlora-scale-'));
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const loadBefore = load();
  const t0 = performance.now();
  const modelAtRoundS: number[] = [];
  const wallAtRoundS: number[] = [];
  const onRound = (): void => {
    modelAtRoundS.push(models.modelTiming().seconds);
    wallAtRoundS.push((performance.now() - t0) / 1000);
  };
  const result = await runToFolder(scenario, { outDir: out, workers, onRound });
  const wallS = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const timing = models.modelTiming();
  const r: RunOut = {
    scenario: scenario.name,
    devices: scenario.devices.count,
    workers,
    rounds: result.rounds.length,
    admitted: result.rounds.map((x) => x.admitted.length),
    wallS,
    roundWallS: result.rounds.map((x) => x.wallS),
    modelS: timing.seconds,
    modelCalls: timing.calls,
    modelAtRoundS,
    wallAtRoundS,
    peakRssMiB: mib(peak),
    loadBefore,
    loadAfter: load(),
  };
  rmSync(out, { recursive: true, force: true });
  process.stdout.write(`\n@@RESULT ${JSON.stringify(r)}\n`);
}

// ---------------------------------------------------------------- child: split-step throughput

interface ThroughputRow {
  backend: string;
  devices: number;
  samples: number;
  serverUnbatchedMs: number;
  serverBatchedMs: number;
  stepUnbatchedMs: number;
  stepBatchedMs: number;
  load: string;
}

async function childThroughput(): Promise<void> {
  const m = await import('../models');
  const { RandomStream } = await import('../util/random');
  const backend = opt('backend', 'wasm') as 'onnxruntime' | 'wasm' | 'cpu';
  await m.initBackend(backend);
  const counts = opt('devices', '1,2,3,4,7,12').split(',').map(Number);
  const iterations = Number(opt('iterations', backend === 'cpu' ? '3' : '15'));
  const b = 16;
  const f = m.createRandomFoundation(m.DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(1, 'foundation'));
  const digits = m.loadDigits(2000, 10);
  const compute = backend === 'onnxruntime' ? new m.OrtCompute(f) : m.tfjsCompute(f, backend);
  const keys = (n: number): string[] => Array.from({ length: n }, (_, k) => String(k));
  const rows: ThroughputRow[] = [];
  for (const D of counts) {
    const devs = Array.from({ length: D }, (_, k) => {
      const lora = m.initLora(f, RandomStream.fromSeed(k, 'lora'));
      const head = m.initHead(f, RandomStream.fromSeed(k, 'head'));
      const x = digits.train.features.slice(k * b * 784, (k + 1) * b * 784);
      const y = digits.train.labels.slice(k * b, (k + 1) * b);
      const activations = m.embed(f, x, b);
      const featureGrad = m.headGradients(f, head, compute.forward([{ lora, activations }])[0]!.features, y).featureGrad;
      return {
        lora,
        loraOpt: m.initOptimizerState(lora),
        head,
        headOpt: m.initOptimizerState(head),
        x,
        y,
        activations,
        featureGrad,
        lr: 1e-3,
      };
    });
    // The two ways alternate within every repetition, so load that comes and goes hits both alike.
    const timePair = (one: () => void, other: () => void): [number, number] => {
      one();
      other();
      const a: number[] = [];
      const c: number[] = [];
      for (let i = 0; i < iterations; i++) {
        let t0 = performance.now();
        one();
        a.push(performance.now() - t0);
        t0 = performance.now();
        other();
        c.push(performance.now() - t0);
      }
      return [median(a), median(c)];
    };
    // Server part: what a shard does for its devices in one local iteration, per device (the
    // cached pair, as the shards ran before batching) or batched (the cached pair over all D).
    const [serverUnbatched, serverBatched] = timePair(
      () => {
        for (const d of devs) {
          const { cache } = compute.forward([d], { keys: keys(1) })[0]!;
          m.backward(compute, [{ ...d, cache }]);
        }
      },
      () => {
        const out = compute.forward(devs, { keys: keys(D) });
        m.backward(
          compute,
          devs.map((d, k) => ({ ...d, cache: out[k]!.cache })),
        );
      },
    );
    // Full split step: device parts (embed, head) are per device in both; the server part per device or batched.
    const [stepUnbatched, stepBatched] = timePair(
      () => {
        for (const d of devs) {
          const a = m.embed(f, d.x, b);
          const h = compute.forward([{ lora: d.lora, activations: a }], { keys: keys(1) })[0]!;
          const s = m.headStep(f, d.head, d.headOpt, h.features, d.y, d.lr);
          m.backward(compute, [{ lora: d.lora, loraOpt: d.loraOpt, lr: d.lr, cache: h.cache, featureGrad: s.featureGrad }]);
        }
      },
      () => {
        const acts = devs.map((d) => m.embed(f, d.x, b));
        const out = compute.forward(
          devs.map((d, k) => ({ lora: d.lora, activations: acts[k]! })),
          { keys: keys(D) },
        );
        const grads = devs.map((d, k) => m.headStep(f, d.head, d.headOpt, out[k]!.features, d.y, d.lr).featureGrad);
        m.backward(
          compute,
          devs.map((d, k) => ({ lora: d.lora, loraOpt: d.loraOpt, lr: d.lr, cache: out[k]!.cache, featureGrad: grads[k]! })),
        );
      },
    );
    rows.push({
      backend,
      devices: D,
      samples: D * b,
      serverUnbatchedMs: serverUnbatched,
      serverBatchedMs: serverBatched,
      stepUnbatchedMs: stepUnbatched,
      stepBatchedMs: stepBatched,
      load: load(),
    });
    process.stderr.write(
      `${backend} D=${D}: server ${serverUnbatched.toFixed(0)} → ${serverBatched.toFixed(0)} ms; step ${stepUnbatched.toFixed(0)} → ${stepBatched.toFixed(0)} ms\n`,
    );
  }
  process.stdout.write(`\n@@RESULT ${JSON.stringify(rows)}\n`);
}

// ---------------------------------------------------------------- parent

function child<T>(args: string[]): T {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@RESULT '));
  if (r.status !== 0 || !line) throw new Error(`child ${args.join(' ')} failed (status ${r.status}): ${(r.stdout ?? '').slice(-2000)}`);
  return JSON.parse(line.slice('@@RESULT '.length)) as T;
}

/** Steady-state wall per round: rounds after the first (start-up and round 0 apart). */
function perRound(r: RunOut): { steadyS: number; firstS: number } {
  const w = r.roundWallS;
  const firstS = w[0] ?? r.wallS;
  const steadyS = w.length > 1 ? ((w[w.length - 1] as number) - firstS) / (w.length - 1) : Number.NaN;
  return { steadyS, firstS };
}

function machine(): string {
  const c = cpus();
  return `${c[0]?.model.trim() ?? '?'} x ${c.length} logical cores, ${mib(totalmem()).toFixed(0)} MiB RAM, ${process.platform} ${process.arch}, node ${process.version}`;
}

async function parent(): Promise<void> {
  const parts = opt('parts', 'speedup,large,throughput,share').split(',');
  const setsAll = opts('set').flatMap((s) => ['--set', s]);
  const sets = setsAll;
  const rounds = opt('rounds', '10');
  const { availableBackends } = await import('../models/backend');
  // --backends onnxruntime,wasm: cell-50 on each, side by side (default: both, when they load).
  const backends = opt('backends', 'onnxruntime,wasm')
    .split(',')
    .filter((b) => (availableBackends() as string[]).includes(b));
  const lines: string[] = [];
  const say = (s: string): void => {
    lines.push(s);
    console.log(s);
  };
  say(`airlora scale benchmark, ${new Date().toISOString()}`);
  say(`machine: ${machine()}; the largest machine available (no 4- or 8-core machine to measure 4 and 8 workers on)`);
  say(`load average at start (1/5/15 min): ${load()}  (the 2 cores are shared with other jobs: read every figure with its load)`);
  if (sets.length) say(`overrides: ${opts('set').join(' ')}`);
  const cell50 = join(REPO, 'scenarios', 'cell-50.json');

  const steadyBy = new Map<string, number>(); // `${backend}/${workers}` → median steady s/round
  for (const backend of backends) {
    if (parts.includes('speedup') || parts.includes('share')) {
      const sets = [...setsAll, '--set', `runtime.backend=${backend}`];
      say('');
      say(
        `(a) cell-50 on ${backend}, ${rounds} rounds, runToFolder; wall per round = steady state (rounds 1..${Number(rounds) - 1}; round 0 includes start-up)`,
      );
      // --repeat N: the 1- and 2-worker runs alternate N times, so drifting load hits both alike; medians reported.
      const repeat = Number(opt('repeat', '1'));
      // --workers 1,2,4,8: more workers than cores oversubscribes the machine; measured all the same.
      const poolSizes = parts.includes('speedup') ? opt('workers', '1,2').split(',').map(Number) : [1];
      const byWorkers = new Map<number, RunOut[]>(poolSizes.map((w) => [w, []]));
      const ones = byWorkers.get(1) ?? [];
      const twos = byWorkers.get(2) ?? [];
      for (let i = 0; i < repeat; i++) {
        for (const w of poolSizes) {
          const r = child<RunOut>(['--child', 'run', '--scenario', cell50, '--workers', String(w), '--rounds', rounds, ...sets]);
          (byWorkers.get(w) as RunOut[]).push(r);
          const p = perRound(r);
          say(
            `  workers ${w}: total ${r.wallS.toFixed(1)} s, start-up + round 0 ${p.firstS.toFixed(1)} s, ${p.steadyS.toFixed(2)} s/round after; admitted per round ${r.admitted.join(' ')}; peak RSS ${r.peakRssMiB.toFixed(0)} MiB; load ${r.loadBefore} → ${r.loadAfter}`,
          );
        }
      }
      for (const [w, runs] of byWorkers) if (runs.length > 0) steadyBy.set(`${backend}/${w}`, median(runs.map((o) => perRound(o).steadyS)));
      const one = ones[0];
      if (ones.length > 0 && twos.length > 0) {
        const ratios = ones.map((o, i) => perRound(o).steadyS / perRound(twos[i] as RunOut).steadyS);
        const s1 = median(ones.map((o) => perRound(o).steadyS));
        const s2 = median(twos.map((o) => perRound(o).steadyS));
        say(
          `  speed-up 2 workers / 1 worker, steady state: ${ratios.map((x) => `${x.toFixed(2)}x`).join(', ')} (pairs); medians ${s1.toFixed(2)} / ${s2.toFixed(2)} s/round = ${(s1 / s2).toFixed(2)}x  (target ≥ 1.7x)`,
        );
        // Admitted devices are dealt to the two workers in turn and every step waits for both: n devices
        // take ceil(n/2) device-steps on the busier worker, so even perfect hardware gives n / ceil(n/2).
        const steadyAdmitted = (ones[0] as RunOut).admitted.slice(1);
        const balance = steadyAdmitted.reduce((acc, n) => acc + n / Math.ceil(n / 2), 0) / steadyAdmitted.length;
        say(
          `  ceiling from dealing the admitted devices to 2 workers (mean of n / ceil(n/2) over the steady rounds): ${balance.toFixed(2)}x; ratio of the pair medians to it: ${((s1 / s2 / balance) * 100).toFixed(0)}%`,
        );
        for (const [w, runs] of byWorkers) {
          if (w <= 2 || runs.length === 0) continue;
          const sw = median(runs.map((o) => perRound(o).steadyS));
          say(`  ${w} workers on ${cpus().length} cores: median ${sw.toFixed(2)} s/round = ${(s1 / sw).toFixed(2)}x over 1 worker`);
        }
      }
      if (one) {
        say('');
        say('(d) share of wall time outside model compute, cell-50 with 1 worker (method: see the header of bench/scale.ts)');
        const shares: number[] = [];
        const outsideMsPerRound: number[] = [];
        for (const r of ones) {
          const outside = r.wallS - r.modelS;
          // Rounds 2..N: from the row of round 1 to the last row (start-up, round 0 and the closing report apart).
          const n = r.wallAtRoundS.length;
          const wall = (r.wallAtRoundS[n - 1] as number) - (r.wallAtRoundS[1] as number);
          const model = (r.modelAtRoundS[n - 1] as number) - (r.modelAtRoundS[1] as number);
          const whole = `  whole run: wall ${r.wallS.toFixed(1)} s, model ${r.modelS.toFixed(1)} s in ${r.modelCalls} calls, outside ${((100 * outside) / r.wallS).toFixed(1)}%`;
          if (n < 3) {
            say(`${whole}; too few rounds for a steady state (--rounds 3 at least)`);
            continue;
          }
          shares.push((100 * (wall - model)) / wall);
          // The share moves with the model's speed (a faster machine shrinks the model, not the glue as much): the time a round too.
          outsideMsPerRound.push((1000 * (wall - model)) / (n - 2));
          say(
            `${whole}; rounds 2..${n - 1} (steady state): wall ${wall.toFixed(2)} s, model ${model.toFixed(2)} s, outside ${(wall - model).toFixed(2)} s = ${((100 * (wall - model)) / wall).toFixed(1)}% (${(outsideMsPerRound.at(-1) as number).toFixed(0)} ms a round)`,
          );
        }
        if (shares.length > 0)
          say(
            `  steady-state share outside model compute, median of ${shares.length}: ${median(shares).toFixed(1)}%  (target < 5%); outside the model ${median(outsideMsPerRound).toFixed(0)} ms a round`,
          );
      }
    }
  }
  const sideBySide = [...new Set([...steadyBy.keys()].map((k) => k.split('/')[1]))].map((w) => {
    const cells = backends.map((b) => `${b} ${steadyBy.get(`${b}/${w}`)?.toFixed(2) ?? '—'} s/round`).join(', ');
    const ort = steadyBy.get(`onnxruntime/${w}`);
    const wasm = steadyBy.get(`wasm/${w}`);
    return `  workers ${w}: ${cells}${ort && wasm ? `; onnxruntime ${(wasm / ort).toFixed(2)}x faster than wasm (target ≥ 2x)` : ''}`;
  });
  if (sideBySide.length > 0) {
    say('');
    say('cell-50 steady-state seconds per round, backends side by side (medians):');
    for (const l of sideBySide) say(l);
  }

  if (parts.includes('large')) {
    say('');
    const lr = opt('large-rounds', '');
    const workers = opt('large-workers', '2');
    say(`(b) large cells run to completion (${workers} workers): wall per round and peak RSS of the process (main + worker threads)`);
    for (const n of [500, 1000]) {
      const r = child<RunOut>([
        '--child',
        'run',
        '--scenario',
        join(REPO, 'scenarios', `cell-${n}.json`),
        '--workers',
        workers,
        ...(lr ? ['--rounds', lr] : []),
        ...sets,
      ]);
      const p = perRound(r);
      say(
        `  cell-${n}: ${r.rounds} rounds in ${r.wallS.toFixed(1)} s; start-up + round 0 ${p.firstS.toFixed(1)} s, ${p.steadyS.toFixed(2)} s/round after; admitted ${r.admitted.join(' ')}; peak RSS ${r.peakRssMiB.toFixed(0)} MiB (target < 4096 for 1,000); model ${r.modelS.toFixed(1)} s summed over threads; load ${r.loadBefore} → ${r.loadAfter}`,
      );
    }
  }

  if (parts.includes('throughput')) {
    say('');
    say(
      '(c) split-step throughput, batched (models/compute.ts: one pass over all D) vs unbatched (per device), b = 16 per device, default model (d 128, 2 blocks, FFN 256, rank 8 on q and v), random weights, one thread, median',
    );
    say(
      '  backend devices | server fwd+bwd: unbatched → batched samples/s (x) | full split step: unbatched → batched samples/s (x) | load',
    );
    for (const backend of backends) {
      const rows = child<ThroughputRow[]>([
        '--child',
        'throughput',
        '--backend',
        backend,
        ...(backend === 'cpu' ? ['--devices', '1,2,4,7'] : []),
      ]);
      for (const r of rows) {
        const sps = (ms: number): number => (1000 * r.samples) / ms;
        say(
          `  ${r.backend.padEnd(5)} ${String(r.devices).padStart(3)}     | ${sps(r.serverUnbatchedMs).toFixed(0).padStart(6)} → ${sps(r.serverBatchedMs).toFixed(0).padStart(6)} (${(r.serverUnbatchedMs / r.serverBatchedMs).toFixed(2)}x)` +
            ` | ${sps(r.stepUnbatchedMs).toFixed(0).padStart(6)} → ${sps(r.stepBatchedMs).toFixed(0).padStart(6)} (${(r.stepUnbatchedMs / r.stepBatchedMs).toFixed(2)}x) | ${r.load}`,
        );
      }
    }
  }
  say('');
  say(`load average at end: ${load()}`);
  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = opt('out', join(dir, 'scale.txt'));
  writeFileSync(file, `${lines.join('\n')}\n`);
  console.log(`written to ${file}`);
}

const mode = opt('child', '');
(mode === 'run' ? childRun() : mode === 'throughput' ? childThroughput() : parent()).catch((err) => {
  console.error(err);
  process.exit(1);
});
