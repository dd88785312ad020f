/**
 * Centralised LoRA fine-tuning from the committed checkpoint beats the same procedure on a
 * randomly initialised encoder. A short budget and a weaker bar than the README's full figures
 * (`npx tsx models/pretrain/finetune.ts`: 1,500 steps of 32, 8,000 train / 1,000 test digits).
 */
import { DEFAULT_MODEL_CONFIG, createRandomFoundation, finetuneCentralised, initBackend, loadDigits, loadFoundation } from '../models';
import { RandomStream } from '../util/random';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('centralised fine-tuning (short budget)', () => {
  it('reaches a good accuracy from the pre-trained checkpoint and clearly beats a random encoder', async () => {
    const { train, test } = loadDigits(8000, 1000);
    const opts = { steps: 150, batchSize: 32, lr: 3e-3, seed: 1, evalSamples: 500 };
    const pre = await loadFoundation({ config: DEFAULT_MODEL_CONFIG });
    const rnd = createRandomFoundation(DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(1, 'pretrain').fork('init'));
    const a = finetuneCentralised(pre, train, test, opts);
    const b = finetuneCentralised(rnd, train, test, opts);
    console.log(`short fine-tuning: pre-trained ${(a.accuracy * 100).toFixed(1)}%, random ${(b.accuracy * 100).toFixed(1)}%`);
    expect(a.accuracy).toBeGreaterThan(0.8);
    expect(a.accuracy - b.accuracy).toBeGreaterThan(0.08);
    pre.dispose();
    rnd.dispose();
  });
});
