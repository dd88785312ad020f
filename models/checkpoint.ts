/**
 * Checkpoints in TensorFlow.js's own save format (`model.json` with a `weightsManifest`, plus
 * `weights.bin`), through `file://` URLs. tfjs-node registers a `file://` handler; without it
 * (wasm, cpu) this module registers one that reads and writes the same layout, so checkpoints
 * move between backends and a user can bring a checkpoint of their own of the same architecture.
 * Loading validates the manifest, the byte count, every weight's dtype, shape and values, and
 * fails with a CheckpointError naming the file and the problem.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** A checkpoint that cannot be read or does not fit the configured model. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    readonly path: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`checkpoint ${path}: ${problem}`, options);
  }
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

function dirOf(path: string): string {
  return path.endsWith('.json') ? dirname(path) : path;
}

/** An IOHandler reading and writing `<dir>/model.json` and `<dir>/weights.bin`. */
export function fileHandler(path: string): tf.io.IOHandler {
  const dir = resolve(dirOf(path));
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      mkdirSync(dir, { recursive: true });
      const data = artifacts.weightData;
      const buffer = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
      writeFileSync(join(dir, WEIGHTS_BIN), Buffer.from(buffer));
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      writeFileSync(join(dir, MODEL_JSON), JSON.stringify(json, null, 1));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      return readArtifacts(dir);
    },
  };
}

function readArtifacts(dir: string): tf.io.ModelArtifacts {
  const jsonPath = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = readFileSync(jsonPath, 'utf8');
  } catch (cause) {
    throw new CheckpointError(jsonPath, `cannot read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
  let json: {
    modelTopology?: unknown;
    weightsManifest?: unknown;
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
    userDefinedMetadata?: Record<string, unknown>;
  };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (cause) {
    throw new CheckpointError(jsonPath, `not valid JSON, the file is corrupt or truncated (${(cause as Error).message})`, { cause });
  }
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length === 0)
    throw new CheckpointError(jsonPath, "has no 'weightsManifest' (is it a TensorFlow.js model.json?)");
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest as { paths?: string[]; weights?: tf.io.WeightsManifestEntry[] }[]) {
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw new CheckpointError(jsonPath, "a 'weightsManifest' group lacks 'paths' or 'weights'");
    specs.push(...group.weights);
    for (const p of group.paths) {
      const file = join(dir, p);
      try {
        const b = readFileSync(file);
        buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
      } catch (cause) {
        throw new CheckpointError(file, `cannot read weights (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
      }
    }
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: tf.io.concatenateArrayBuffers(buffers),
  };
  if (json.format !== undefined) artifacts.format = json.format;
  if (json.generatedBy !== undefined) artifacts.generatedBy = json.generatedBy;
  if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata as Record<string, unknown> as never;
  return artifacts;
}

let routersRegistered = false;

/** Registers the `file://` handler unless one (tfjs-node's) is already there. */
export function ensureFileRouter(): void {
  if (routersRegistered) return;
  routersRegistered = true;
  if (tf.io.getLoadHandlers('file:///probe').length > 0) return;
  // tf.io's routers return null for URLs they do not handle (the IORouter type omits it).
  const route = ((url: string | string[]): tf.io.IOHandler | null =>
    typeof url === 'string' && url.startsWith('file://') ? fileHandler(url.slice('file://'.length)) : null) as (
    url: string | string[],
  ) => tf.io.IOHandler;
  tf.io.registerSaveRouter(route);
  tf.io.registerLoadRouter(route);
}

/** The file:// URL of a checkpoint folder, for tf.io (`model.json` inside it for loading). */
export function fileUrl(dir: string, forLoad: boolean): string {
  const abs = resolve(dir);
  return `file://${forLoad ? join(abs, MODEL_JSON) : abs}`;
}

const FLOAT32_BYTES = 4;

/**
 * Reads a checkpoint folder through tf.io's `file://` router and returns its weights as typed
 * arrays, checked against `expected` (name → shape). `describe(name)` explains where a
 * mismatched shape comes from (the config field), for the error message.
 */
export async function readCheckpoint(
  dir: string,
  expected: Readonly<Record<string, readonly number[]>>,
  describe: (name: string) => string,
): Promise<{ weights: Record<string, Float32Array>; topology: unknown; metadata: unknown }> {
  ensureFileRouter();
  const url = fileUrl(dir, true);
  const handlers = tf.io.getLoadHandlers(url);
  const handler = handlers[0];
  if (!handler?.load) throw new CheckpointError(dir, 'no file:// load handler is registered');
  try {
    statSync(resolve(dir));
  } catch (cause) {
    throw new CheckpointError(dir, `folder does not exist (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
  const artifacts = await handler.load();
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData;
  const buffer = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  const binPath = join(resolve(dir), WEIGHTS_BIN);
  let needed = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32') throw new CheckpointError(binPath, `weight '${s.name}' has dtype ${s.dtype}; only float32 is supported`);
    if (s.quantization) throw new CheckpointError(binPath, `weight '${s.name}' is quantized; only plain float32 is supported`);
    needed += s.shape.reduce((a, b) => a * b, 1) * FLOAT32_BYTES;
  }
  if (buffer.byteLength < needed)
    throw new CheckpointError(binPath, `truncated: ${buffer.byteLength} bytes of weights, the manifest needs ${needed}`);
  if (buffer.byteLength > needed)
    throw new CheckpointError(binPath, `corrupt: ${buffer.byteLength} bytes of weights, the manifest describes only ${needed}`);
  const weights: Record<string, Float32Array> = {};
  let offset = 0;
  const found = new Set<string>();
  for (const s of specs) {
    const count = s.shape.reduce((a, b) => a * b, 1);
    const want = expected[s.name];
    if (!want) throw new CheckpointError(dir, `unexpected weight '${s.name}' of shape [${s.shape.join(', ')}] (${describe(s.name)})`);
    if (want.length !== s.shape.length || want.some((v, i) => v !== s.shape[i]))
      throw new CheckpointError(
        dir,
        `weight '${s.name}' has shape [${s.shape.join(', ')}] but the model needs [${want.join(', ')}] (${describe(s.name)})`,
      );
    const values = new Float32Array(buffer.slice(offset, offset + count * FLOAT32_BYTES));
    for (let i = 0; i < values.length; i++)
      if (!Number.isFinite(values[i] as number))
        throw new CheckpointError(binPath, `weight '${s.name}' holds a non-finite value at index ${i} (corrupt file?)`);
    weights[s.name] = values;
    found.add(s.name);
    offset += count * FLOAT32_BYTES;
  }
  const missing = Object.keys(expected).filter((n) => !found.has(n));
  if (missing.length > 0)
    throw new CheckpointError(
      dir,
      `missing weight${missing.length > 1 ? 's' : ''} ${missing
        .slice(0, 4)
        .map((m) => `'${m}'`)
        .join(', ')}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''} (${describe(missing[0] as string)})`,
    );
  return { weights, topology: artifacts.modelTopology, metadata: artifacts.userDefinedMetadata };
}

/** Writes weights (name → typed array and shape) as a TensorFlow.js checkpoint through `file://`. */
export async function writeCheckpoint(
  dir: string,
  weights: Readonly<Record<string, { data: Float32Array; shape: readonly number[] }>>,
  topology: Record<string, unknown>,
  metadata: Record<string, unknown>,
): Promise<void> {
  ensureFileRouter();
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: ArrayBuffer[] = [];
  for (const [name, w] of Object.entries(weights)) {
    specs.push({ name, shape: [...w.shape], dtype: 'float32' });
    parts.push(w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + w.data.byteLength) as ArrayBuffer);
  }
  const handler = tf.io.getSaveHandlers(fileUrl(dir, false))[0];
  if (!handler?.save) throw new CheckpointError(dir, 'no file:// save handler is registered');
  await handler.save({
    modelTopology: topology as tf.io.ModelArtifacts['modelTopology'],
    format: 'airlora-foundation',
    generatedBy: `TensorFlow.js tfjs-core v${tf.version_core}`,
    convertedBy: null,
    weightSpecs: specs,
    weightData: tf.io.concatenateArrayBuffers(parts),
    userDefinedMetadata: metadata as never,
  });
}
