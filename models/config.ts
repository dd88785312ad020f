/**
 * Model configuration (MODEL.md §1): the sizes of the foundation model's three modules and of
 * the LoRA adapters. The scenario's `model` section supplies the sizes; the task fixes the
 * input layout (digits: 28x28 images cut into 7x7 patches, ViT-style; sentiment: one token id
 * per word, looked up in a token table), plus a CLS token.
 */
import { SENTENCE_MAX_WORDS, SENTIMENT_CLASSES, SENTIMENT_SEQUENCE_LENGTH } from './data/sentiment';
import { sentimentVocabulary } from './data/sentimentVocabulary';

export type LoraTarget = 'query' | 'key' | 'value' | 'output';
export const LORA_TARGETS: readonly LoraTarget[] = ['query', 'key', 'value', 'output'];

export type TaskName = 'digits' | 'sentiment';

/** Images cut into square patches, each patch a dense projection (the digits task). */
export interface PatchTaskSpec {
  readonly kind: 'patches';
  readonly name: 'digits';
  readonly imageSide: number;
  readonly patchSide: number;
  readonly classCount: number;
}

/** Sequences of token ids, each looked up in a token table (the sentiment task). */
export interface TokenTaskSpec {
  readonly kind: 'tokens';
  readonly name: 'sentiment';
  /** Token table rows: the fixed vocabulary (data/sentimentVocabulary.ts), special tokens included. */
  readonly vocabSize: number;
  /** Token positions per sample (padded); the model's L is this + 1 (CLS). */
  readonly sequenceLength: number;
  readonly classCount: number;
}

/** Input layout of a task. */
export type TaskSpec = PatchTaskSpec | TokenTaskSpec;

const DIGITS_TASK: PatchTaskSpec = { kind: 'patches', name: 'digits', imageSide: 28, patchSide: 7, classCount: 10 };

/** The tasks with their default layouts (sentiment's vocabulary size is read from the lexicon on first use). */
export const TASKS: Readonly<Record<TaskName, TaskSpec>> = {
  digits: DIGITS_TASK,
  get sentiment(): TokenTaskSpec {
    return {
      kind: 'tokens',
      name: 'sentiment',
      vocabSize: sentimentVocabulary().size,
      sequenceLength: SENTIMENT_SEQUENCE_LENGTH,
      classCount: SENTIMENT_CLASSES,
    };
  },
};

/** What a caller gives: the scenario's model fields; everything else has a default. */
export interface ModelConfig {
  task?: TaskName;
  /** Token tasks only: positions per sample (default 14, at least the longest generated sentence). */
  sequenceLength?: number;
  dModel: number;
  blocks: number;
  heads: number;
  ffnDim: number;
  loraRank: number;
  loraTargets: readonly LoraTarget[];
  /** LoRA scale is loraAlpha / loraRank (Hu et al. 2021). Default 16. */
  loraAlpha?: number;
}

/** A validated configuration with the task's derived sizes. */
export interface ResolvedModelConfig {
  readonly task: TaskSpec;
  readonly dModel: number;
  readonly blocks: number;
  readonly heads: number;
  readonly ffnDim: number;
  readonly loraRank: number;
  readonly loraTargets: readonly LoraTarget[];
  readonly loraAlpha: number;
  /** Input positions before CLS: patches per image, or the token task's sequence length. */
  readonly patches: number;
  /** Sequence length L: patches (or token positions) + CLS. */
  readonly tokens: number;
  /** Values per input position: pixels per patch, or 1 (a token id). */
  readonly patchSize: number;
  /** Values per input sample (784 pixels, or the sequence length's token ids). */
  readonly inputSize: number;
  readonly classCount: number;
}

/** The defaults: app/scenario.ts's model section (d 128, 2 blocks, 4 heads, FFN 256, rank 8 on query and value). */
export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  task: 'digits',
  dModel: 128,
  blocks: 2,
  heads: 4,
  ffnDim: 256,
  loraRank: 8,
  loraTargets: ['query', 'value'],
  loraAlpha: 16,
};

/** Thrown for a configuration that cannot describe a model; names the field and the rule. */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`model.${field}: ${rule}`);
  }
}

function positiveInt(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ModelConfigError(field, `must be a positive integer, got ${v}`);
  return v;
}

/** A task name from the command line or a file; anything else is a ModelConfigError (never a silent default). */
export function parseTaskName(value: string | undefined): TaskName {
  if (value === undefined) return 'digits';
  if (value !== 'digits' && value !== 'sentiment') throw new ModelConfigError('task', `must be 'digits' or 'sentiment', got '${value}'`);
  return value;
}

/** Validates a configuration and derives the task's sizes. */
export function resolveConfig(config: ModelConfig): ResolvedModelConfig {
  const task = resolveTask(parseTaskName(config.task), config.sequenceLength);
  const dModel = positiveInt('dModel', config.dModel);
  const heads = positiveInt('heads', config.heads);
  if (dModel % heads !== 0) throw new ModelConfigError('heads', `must divide dModel (${dModel}), got ${heads}`);
  const loraRank = positiveInt('loraRank', config.loraRank);
  if (loraRank > dModel) throw new ModelConfigError('loraRank', `must be at most dModel (${dModel}), got ${loraRank}`);
  if (config.loraTargets.length === 0) throw new ModelConfigError('loraTargets', 'must name at least one projection');
  for (const t of config.loraTargets)
    if (!LORA_TARGETS.includes(t))
      throw new ModelConfigError('loraTargets', `unknown projection '${t}' (expected one of ${LORA_TARGETS.join(', ')})`);
  const loraAlpha = config.loraAlpha ?? 16;
  if (!(loraAlpha > 0)) throw new ModelConfigError('loraAlpha', `must be > 0, got ${loraAlpha}`);
  const layout = inputLayout(task);
  return {
    task,
    dModel,
    blocks: positiveInt('blocks', config.blocks),
    heads,
    ffnDim: positiveInt('ffnDim', config.ffnDim),
    loraRank,
    loraTargets: LORA_TARGETS.filter((t) => config.loraTargets.includes(t)),
    loraAlpha,
    ...layout,
    classCount: task.classCount,
  };
}

/** The task's layout, with a token task's sequence length checked. */
function resolveTask(name: TaskName, sequenceLength: number | undefined): TaskSpec {
  if (name === 'digits') {
    if (sequenceLength !== undefined)
      throw new ModelConfigError('sequenceLength', `applies to token tasks only; task 'digits' cuts 28x28 images into 7x7 patches`);
    return DIGITS_TASK;
  }
  const task = TASKS.sentiment as TokenTaskSpec;
  if (sequenceLength === undefined) return task;
  positiveInt('sequenceLength', sequenceLength);
  if (sequenceLength < SENTENCE_MAX_WORDS)
    throw new ModelConfigError(
      'sequenceLength',
      `must be at least ${SENTENCE_MAX_WORDS} (the longest generated sentence), got ${sequenceLength}`,
    );
  return { ...task, sequenceLength };
}

function inputLayout(task: TaskSpec): { patches: number; tokens: number; patchSize: number; inputSize: number } {
  if (task.kind === 'tokens')
    return { patches: task.sequenceLength, tokens: task.sequenceLength + 1, patchSize: 1, inputSize: task.sequenceLength };
  const perSide = task.imageSide / task.patchSide;
  const patches = perSide * perSide;
  return { patches, tokens: patches + 1, patchSize: task.patchSide * task.patchSide, inputSize: task.imageSide * task.imageSide };
}

/** Shapes of every frozen weight of the embedding and encoder, by name (the checkpoint's contents). */
export function frozenWeightShapes(c: ResolvedModelConfig): Record<string, number[]> {
  const d = c.dModel;
  // Digits names and order are those of the committed checkpoint: keep them.
  const shapes: Record<string, number[]> =
    c.task.kind === 'tokens'
      ? { 'embed/token': [c.task.vocabSize, d], 'embed/cls': [1, d], 'embed/position': [c.tokens, d] }
      : { 'embed/patch/kernel': [c.patchSize, d], 'embed/patch/bias': [d], 'embed/cls': [1, d], 'embed/position': [c.tokens, d] };
  for (let i = 0; i < c.blocks; i++) {
    const p = `block${i}`;
    shapes[`${p}/ln1/gamma`] = [d];
    shapes[`${p}/ln1/beta`] = [d];
    for (const t of LORA_TARGETS) {
      shapes[`${p}/${t}/kernel`] = [d, d];
      shapes[`${p}/${t}/bias`] = [d];
    }
    shapes[`${p}/ln2/gamma`] = [d];
    shapes[`${p}/ln2/beta`] = [d];
    shapes[`${p}/ffn1/kernel`] = [d, c.ffnDim];
    shapes[`${p}/ffn1/bias`] = [c.ffnDim];
    shapes[`${p}/ffn2/kernel`] = [c.ffnDim, d];
    shapes[`${p}/ffn2/bias`] = [d];
  }
  return shapes;
}

/**
 * Shapes of the LoRA adapters. Layout: the frozen projection is y = x·W + b with W of shape
 * [dIn, dOut]; the adapter adds (alpha/r)·x·A·B with A [dIn, r] and B [r, dOut], so the update
 * is ΔW = A·B (Hu et al.'s B·A, written for row vectors).
 */
export function loraShapes(c: ResolvedModelConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (let i = 0; i < c.blocks; i++)
    for (const t of c.loraTargets) {
      shapes[`block${i}/${t}/A`] = [c.dModel, c.loraRank];
      shapes[`block${i}/${t}/B`] = [c.loraRank, c.dModel];
    }
  return shapes;
}

/** Shapes of the task module: LayerNorm over the mean-pooled features, then a dense layer to the classes. */
export function headShapes(c: ResolvedModelConfig, classCount = c.classCount): Record<string, number[]> {
  return {
    'head/ln/gamma': [c.dModel],
    'head/ln/beta': [c.dModel],
    'head/dense/kernel': [c.dModel, classCount],
    'head/dense/bias': [classCount],
  };
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
