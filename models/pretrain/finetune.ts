/**
 * Centralised LoRA fine-tuning (one process, unsplit): the reference point for the federated
 * runs, and the numbers for the README (pre-trained vs randomly initialised encoder).
 *
 *   nice npx tsx models/pretrain/finetune.ts [--task digits|sentiment] [--steps 1500] [--batch 32] [--lr 3e-3]
 *                                   [--schedule cosine|constant] [--train 8000] [--test 1000] [--checkpoint dir]
 *                                   [--only pretrained|random]
 */
import { initBackend, type BackendName } from '../backend';
import { DEFAULT_MODEL_CONFIG, parseTaskName, resolveConfig, type ModelConfig, type TaskName } from '../config';
import { createRandomFoundation, loadFoundation, type Foundation } from '../foundation';
import { initOptimizerState } from '../optimizer';
import { evaluate, initHead, initLora, selectBatch, unsplitStep, type TrainState } from '../split';
import { loadTaskData } from '../data/taskData';
import type { Dataset } from '../data/dataset';
import { RandomStream } from '../../util/random';

export interface FinetuneOptions {
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Test samples scored at the end. */
  evalSamples?: number;
  /** Train the head only (no LoRA updates). */
  headOnly?: boolean;
  /** Learning-rate schedule: constant (default) or cosine decay to 0. */
  schedule?: 'constant' | 'cosine';
}

/** Trains LoRA and head on `train` with Adam, batches drawn with a seeded stream; returns test accuracy and loss. */
export function finetuneCentralised(
  foundation: Foundation,
  train: Dataset,
  test: Dataset,
  opts: FinetuneOptions,
): { accuracy: number; loss: number; trainLoss: number; state: TrainState } {
  const random = RandomStream.fromSeed(opts.seed, 'finetune');
  const lora = initLora(foundation, random.fork('lora'));
  const head = initHead(foundation, random.fork('head'));
  let s: TrainState = { lora, head, loraOpt: initOptimizerState(lora), headOpt: initOptimizerState(head) };
  const draw = random.fork('batches');
  let trainLoss = 0;
  const tail = Math.min(100, opts.steps);
  for (let step = 0; step < opts.steps; step++) {
    const { features, labels } = selectBatch(train, opts.batchSize, draw);
    const lr = opts.schedule === 'cosine' ? 0.5 * opts.lr * (1 + Math.cos((Math.PI * step) / opts.steps)) : opts.lr;
    const next = unsplitStep(foundation, s, features, labels, lr);
    s = opts.headOnly ? { ...next, lora: s.lora, loraOpt: s.loraOpt } : next;
    if (step >= opts.steps - tail) trainLoss += next.loss / tail;
  }
  const r = evaluate(foundation, s.lora, s.head, test, opts.evalSamples);
  return { ...r, trainLoss, state: s };
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const backend = await initBackend(arg(argv, 'backend') as BackendName | undefined);
  const num = (name: string, dflt: number): number => Number(arg(argv, name) ?? dflt);
  const task: TaskName = parseTaskName(arg(argv, 'task'));
  const config: ModelConfig = { ...DEFAULT_MODEL_CONFIG, task };
  const { train, test } = loadTaskData(resolveConfig(config).task, num('train', 8000), num('test', 1000));
  const opts: FinetuneOptions = {
    steps: num('steps', 1500),
    batchSize: num('batch', 32),
    lr: num('lr', 3e-3),
    seed: num('seed', 1),
    schedule: arg(argv, 'schedule') === 'constant' ? 'constant' : 'cosine',
  };
  const only = arg(argv, 'only');
  const ckpt = arg(argv, 'checkpoint');
  console.log(
    `centralised fine-tuning on ${backend}: ${JSON.stringify(opts)}, ${train.count} train / ${test.count} test samples of task ${task}`,
  );
  const pre = await loadFoundation({ config, ...(ckpt ? { checkpointDir: ckpt } : {}) });
  const rnd = createRandomFoundation(config, RandomStream.fromSeed(1, 'pretrain').fork('init'));
  for (const [name, f, headOnly] of [
    ['pre-trained encoder, LoRA + head', pre, false],
    ['random encoder, LoRA + head', rnd, false],
    ['pre-trained encoder, head only', pre, true],
    ['random encoder, head only', rnd, true],
  ] as const) {
    if ((only === 'pretrained' && f !== pre) || (only === 'random' && f !== rnd) || (only !== undefined && headOnly)) continue;
    const t0 = Date.now();
    const r = finetuneCentralised(f, train, test, { ...opts, headOnly });
    console.log(
      `${name}: test accuracy ${(r.accuracy * 100).toFixed(1)}%, test loss ${r.loss.toFixed(3)}, train loss ${r.trainLoss.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
