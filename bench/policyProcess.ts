/**
 * What a policy process adds per slot (README "Plug-ins"), on instances of the size of
 * cell-50 and cell-1000 (MODEL.md §8 cell, 20 MHz, T_max = 2 s): per slot, the built-in
 * best-channel deciding in place; the Python example (examples/best_channel.py, the same
 * decisions) asked over its pipe; and a Python process that answers at once (an empty round),
 * which is the protocol alone: the instance to JSON, the pipe both ways, Python's json, the answer
 * parsed and checked. The runtime adds one host call per slot besides (the asking actor handles its
 * message again): about 0.1 ms between threads.
 * Run: npm run build && node dist/bench/policyProcess.js   (writes bench/results/policyProcess.txt)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RandomStream } from '../util/random';
import { createPolicy, createRandomInstance, completeDecision, type SlotInstance } from '../scheduler';
import { PolicyProcess } from '../app/plugins/policyProcess';
import { median } from './median';

const REPO = __dirname.endsWith(join('dist', 'bench')) ? join(__dirname, '..', '..') : join(__dirname, '..');
const RESULTS_DIR = join(REPO, 'bench', 'results');
const SIZES = [50, 1000];
const SLOTS = 60;
const WARMUP = 10;
const GROUP = 10;

/** A Python policy that answers every slot with an empty round: the protocol's own cost. */
const EMPTY_POLICY =
  'import json, sys\nfor line in sys.stdin:\n    json.loads(line)\n    print(json.dumps({"admitted": [], "bandwidth": {}}), flush=True)\n';

async function perSlotMs(
  ask: (instance: SlotInstance, slot: number) => Promise<unknown> | unknown,
  instances: readonly SlotInstance[],
): Promise<number> {
  const times: number[] = [];
  for (const [slot, instance] of instances.entries()) {
    const t0 = performance.now();
    await ask(instance, slot);
    if (slot >= WARMUP) times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airlora-bench-policy-'));
  writeFileSync(join(dir, 'empty.py'), EMPTY_POLICY);
  const root = RandomStream.fromSeed(2026, 'bench/policyProcess');
  const rows = [`K      built-in best-channel ms  Python best-channel ms  Python empty answer ms  (medians of ${SLOTS - WARMUP} slots)`];
  for (const K of SIZES) {
    const instances = Array.from({ length: SLOTS }, (_, i) =>
      createRandomInstance(root.fork(`K${K}/${i}`), { deviceCount: K, zeroQueueShare: 0.5 }),
    );
    const builtin = createPolicy('best-channel', { randomCount: GROUP });
    const inPlace = await perSlotMs(
      (instance, slot) => completeDecision(instance, builtin.decide(null, instance, slot).decision, slot),
      instances,
    );
    const python = new PolicyProcess(
      { command: ['python3', join(REPO, 'examples', 'best_channel.py'), String(GROUP)], timeoutS: 60, cwd: dir },
      dir,
    );
    const empty = new PolicyProcess({ command: ['python3', join(dir, 'empty.py')], timeoutS: 60, cwd: dir }, dir);
    try {
      const viaPython = await perSlotMs((instance, slot) => python.decide({ slot, instance }), instances);
      const protocol = await perSlotMs((instance, slot) => empty.decide({ slot, instance }), instances);
      rows.push(
        `${String(K).padEnd(6)} ${inPlace.toFixed(2).padStart(24)}  ${viaPython.toFixed(2).padStart(22)}  ${protocol.toFixed(2).padStart(22)}`,
      );
    } finally {
      await python.close();
      await empty.close();
    }
  }
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical cores, ${platform()} ${release()}, Node ${process.version}; shared machine (other jobs running)`;
  const text = `${new Date().toISOString().slice(0, 10)}, ${machine}\n${rows.join('\n')}\n`;
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'policyProcess.txt'), text);
  console.log(text);
}

void main();
