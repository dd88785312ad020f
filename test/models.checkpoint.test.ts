/** Checkpoints in TensorFlow.js's format through file://: exact round trip, clear errors. */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  CheckpointError,
  DEFAULT_CHECKPOINT_DIR,
  DEFAULT_MODEL_CONFIG,
  defaultCheckpointDir,
  foundationWeights,
  initBackend,
  loadFoundation,
  randomFoundationWeights,
  saveFoundation,
} from '../models';
import { RandomStream } from '../util/random';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'airlora-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function saved(name: string): Promise<{ path: string; weights: Record<string, Float32Array> }> {
  const path = join(dir, name);
  const weights = randomFoundationWeights(DEFAULT_MODEL_CONFIG, RandomStream.fromSeed(11, name));
  await saveFoundation(path, DEFAULT_MODEL_CONFIG, weights, { note: 'test' });
  return { path, weights };
}

describe('checkpoints', () => {
  it('round-trips exactly, in the TensorFlow.js model.json + weights.bin layout', async () => {
    const { path, weights } = await saved('roundtrip');
    const json = JSON.parse(readFileSync(join(path, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[]; weights: { name: string }[] }[];
    };
    expect(json.weightsManifest[0]?.paths).toEqual(['weights.bin']);
    const f = await loadFoundation({ checkpointDir: path, config: DEFAULT_MODEL_CONFIG });
    const back = foundationWeights(f);
    for (const [k, v] of Object.entries(weights))
      expect(Buffer.from((back[k] as Float32Array).buffer).equals(Buffer.from(v.buffer))).toBe(true);
    // tfjs's own loader reads it too
    const artifacts = await tf.io.getLoadHandlers(`file://${join(path, 'model.json')}`)[0]?.load?.();
    expect(artifacts?.weightSpecs?.length).toBe(Object.keys(weights).length);
    f.dispose();
  });

  it('fails on a truncated weights file, naming it', async () => {
    const { path } = await saved('truncated');
    const bin = join(path, 'weights.bin');
    truncateSync(bin, statSync(bin).size - 100);
    await expect(loadFoundation({ checkpointDir: path, config: DEFAULT_MODEL_CONFIG })).rejects.toThrow(CheckpointError);
    await expect(loadFoundation({ checkpointDir: path, config: DEFAULT_MODEL_CONFIG })).rejects.toThrow(
      /weights\.bin: truncated: \d+ bytes of weights, the manifest needs \d+/,
    );
  });

  it('fails on a corrupt model.json', async () => {
    const { path } = await saved('corrupt');
    const file = join(path, 'model.json');
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 200));
    await expect(loadFoundation({ checkpointDir: path, config: DEFAULT_MODEL_CONFIG })).rejects.toThrow(/model\.json: not valid JSON/);
  });

  it('fails on non-finite values', async () => {
    const { path } = await saved('nan');
    const bin = join(path, 'weights.bin');
    const bytes = readFileSync(bin);
    bytes.writeFloatLE(Number.NaN, 40);
    writeFileSync(bin, bytes);
    await expect(loadFoundation({ checkpointDir: path, config: DEFAULT_MODEL_CONFIG })).rejects.toThrow(/non-finite value/);
  });

  it('fails on a checkpoint of another size, naming the weight, the shapes and the config field', async () => {
    const { path } = await saved('mismatch');
    await expect(loadFoundation({ checkpointDir: path, config: { ...DEFAULT_MODEL_CONFIG, ffnDim: 512 } })).rejects.toThrow(
      "weight 'block0/ffn1/kernel' has shape [128, 256] but the model needs [128, 512] (the config has model.dModel = 128, model.ffnDim = 512)",
    );
    await expect(loadFoundation({ checkpointDir: path, config: { ...DEFAULT_MODEL_CONFIG, blocks: 3 } })).rejects.toThrow(
      /missing weights 'block2\/ln1\/gamma'.*model.blocks = 3/,
    );
    await expect(loadFoundation({ checkpointDir: path, config: { ...DEFAULT_MODEL_CONFIG, blocks: 1 } })).rejects.toThrow(
      /unexpected weight 'block1\/ln1\/gamma'.*model.blocks = 1/,
    );
    await expect(loadFoundation({ checkpointDir: path, config: { ...DEFAULT_MODEL_CONFIG, heads: 8 } })).rejects.toThrow(
      /was trained with 4 attention heads but the config has model.heads = 8/,
    );
  });

  it('fails on a missing folder', async () => {
    await expect(loadFoundation({ checkpointDir: join(dir, 'nowhere'), config: DEFAULT_MODEL_CONFIG })).rejects.toThrow(
      /nowhere: folder does not exist/,
    );
  });

  it('the committed checkpoint loads with the default config', async () => {
    expect(existsSync(join(DEFAULT_CHECKPOINT_DIR, 'model.json'))).toBe(true);
    const f = await loadFoundation({ config: DEFAULT_MODEL_CONFIG });
    expect(f.source).toBe(DEFAULT_CHECKPOINT_DIR);
    expect(f.config.tokens).toBe(17);
    f.dispose();
  });

  it('the committed sentiment checkpoint is the default of the sentiment task, and the digits one does not fit it', async () => {
    const sentiment = { ...DEFAULT_MODEL_CONFIG, task: 'sentiment' as const };
    const f = await loadFoundation({ config: sentiment });
    expect(f.source).toBe(defaultCheckpointDir('sentiment'));
    expect(f.source).not.toBe(DEFAULT_CHECKPOINT_DIR);
    expect(f.config.tokens).toBe(15);
    f.dispose();
    await expect(loadFoundation({ checkpointDir: DEFAULT_CHECKPOINT_DIR, config: sentiment })).rejects.toThrow(
      /unexpected weight 'embed\/patch\/kernel'.*model.task = 'sentiment'/,
    );
    await expect(loadFoundation({ checkpointDir: defaultCheckpointDir('sentiment'), config: DEFAULT_MODEL_CONFIG })).rejects.toThrow(
      CheckpointError,
    );
  });
});
