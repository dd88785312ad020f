/**
 * Time per Lyapunov decision (MODEL.md §6) for K = 50, 200 and 1,000 devices in the default cell
 * (MODEL.md §8: 20 MHz, T_max = 2 s, V = 10, count penalty), queues half empty and half
 * exponential (mean 0.5 J). Target: under 20 ms at K = 1,000.
 * Run: npx tsx bench/scheduler.ts   (writes bench/results/scheduler.txt)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RandomStream } from '../util/random';
import { createRandomInstance, decideInstance } from '../scheduler';

/** bench/results in the repository, whether this runs from bench/ (tsx) or dist/bench/ (node). */
const RESULTS_DIR = join(
  __dirname.endsWith(join('dist', 'bench')) ? join(__dirname, '..', '..') : join(__dirname, '..'),
  'bench',
  'results',
);

const SIZES = [50, 200, 1000];
const INSTANCES = 60;
const WARMUP = 10;

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

const root = RandomStream.fromSeed(2025, 'bench/scheduler');
const rows: string[] = [];
rows.push('K      instances  median ms  p95 ms  max ms  mean admitted');
for (const K of SIZES) {
  const instances = Array.from({ length: INSTANCES }, (_, i) =>
    createRandomInstance(root.fork(`K${K}/${i}`), {
      deviceCount: K,
      V: 10,
      penalty: 'count',
      deadlineS: 2,
      queueMeanJ: 0.5,
      zeroQueueShare: 0.5,
      weight: 1,
    }),
  );
  for (const inst of instances.slice(0, WARMUP)) decideInstance(inst);
  const times: number[] = [];
  let admitted = 0;
  for (const inst of instances) {
    const t0 = performance.now();
    const d = decideInstance(inst);
    times.push(performance.now() - t0);
    admitted += d.admitted.length;
  }
  times.sort((a, b) => a - b);
  rows.push(
    `${String(K).padEnd(7)}${String(INSTANCES).padEnd(11)}${quantile(times, 0.5).toFixed(2).padStart(9)}  ${quantile(times, 0.95).toFixed(2).padStart(6)}  ${(times[times.length - 1] as number).toFixed(2).padStart(6)}  ${(admitted / INSTANCES).toFixed(1).padStart(13)}`,
  );
}
const cpu = cpus();
const text = [
  'airlora scheduler benchmark: time per Lyapunov decision (decideInstance, fast search above 12 candidates)',
  `machine: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores, ${platform()} ${release()}, node ${process.version}`,
  `date: ${new Date().toISOString()}`,
  '',
  ...rows,
  '',
].join('\n');
process.stdout.write(text);
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'scheduler.txt'), text);
