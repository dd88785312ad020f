/**
 * Centralised LoRA fine-tuning of the text model from the committed sentiment checkpoint beats
 * chance and beats the same procedure on a randomly initialised encoder. A short budget and a
 * weaker bar than the README's full figures (`npx tsx models/pretrain/finetune.ts --task sentiment`).
 */
import {
  DEFAULT_MODEL_CONFIG,
  createRandomFoundation,
  finetuneCentralised,
  initBackend,
  loadFoundation,
  loadSentiment,
  type ModelConfig,
} from '../models';
import { RandomStream } from '../util/random';

const SENTIMENT: ModelConfig = { ...DEFAULT_MODEL_CONFIG, task: 'sentiment' };

beforeAll(async () => {
  await initBackend('wasm');
});

describe('centralised fine-tuning of the text model (short budget)', () => {
  it('clearly beats chance from the pre-trained checkpoint, and beats a random encoder', async () => {
    const { train, test } = loadSentiment(8000, 1000);
    const opts = { steps: 150, batchSize: 32, lr: 3e-3, seed: 1, evalSamples: 500 };
    const pre = await loadFoundation({ config: SENTIMENT });
    const rnd = createRandomFoundation(SENTIMENT, RandomStream.fromSeed(1, 'pretrain').fork('init'));
    const a = finetuneCentralised(pre, train, test, opts);
    const b = finetuneCentralised(rnd, train, test, opts);
    console.log(`short fine-tuning (sentiment): pre-trained ${(a.accuracy * 100).toFixed(1)}%, random ${(b.accuracy * 100).toFixed(1)}%`);
    expect(a.accuracy).toBeGreaterThan(0.8); // chance is 0.5; 91.4% when written
    expect(a.accuracy - b.accuracy).toBeGreaterThan(0.15); // 33 points when written
    pre.dispose();
    rnd.dispose();
  });
});
