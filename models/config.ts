/**
 * Model configuration (MODEL.md §1): the sizes of the foundation model's three modules and of
 * the LoRA adapters. The scenario's `model` section supplies the sizes; the task fixes the
 * input layout (digits: 28x28 images cut into 7x7 patches, ViT-style, plus a CLS token).
 */

export type LoraTarget = 'query' | 'key' | 'value' | 'output';
export const LORA_TARGETS: readonly LoraTarget[] = ['query', 'key', 'value', 'output'];

/** Input layout of a task. Only image patches are implemented (the digits task). */
export interface TaskSpec {
  readonly name: 'digits';
  readonly imageSide: number;
  readonly patchSide: number;
  readonly classCount: number;
}

export const TASKS: Readonly<Record<'digits', TaskSpec>> = {
  digits: { name: 'digits', imageSide: 28, patchSide: 7, classCount: 10 },
};

/** What a caller gives: the scenario's model fields; everything else has a default. */
export interface ModelConfig {
  task?: 'digits' | 'sentiment';
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
  /** Patches per image. */
  readonly patches: number;
  /** Sequence length L: patches + CLS. */
  readonly tokens: number;
  /** Values per patch. */
  readonly patchSize: number;
  /** Values per input sample. */
  readonly inputSize: number;
  readonly classCount: number;
}

/** The defaults: runtime/scenario.ts's model section (d 128, 2 blocks, 4 heads, FFN 256, rank 8 on query and value). */
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

/** Thrown for a configuration that cannot describe a model; names the field and the rule (STYLE.md §16). */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
  constructor(readonly field: string, readonly rule: string) {
    super(`model.${field}: ${rule}`);
  }
}

function positiveInt(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ModelConfigError(field, `must be a positive integer, got ${v}`);
  return v;
}

/** Validates a configuration and derives the task's sizes. */
export function resolveConfig(config: ModelConfig): ResolvedModelConfig {
  const taskName = config.task ?? 'digits';
  if (taskName !== 'digits') throw new ModelConfigError('task', `'${taskName}' is not implemented yet (only 'digits')`);
  const task = TASKS[taskName];
  const dModel = positiveInt('dModel', config.dModel);
  const heads = positiveInt('heads', config.heads);
  if (dModel % heads !== 0) throw new ModelConfigError('heads', `must divide dModel (${dModel}), got ${heads}`);
  const loraRank = positiveInt('loraRank', config.loraRank);
  if (loraRank > dModel) throw new ModelConfigError('loraRank', `must be at most dModel (${dModel}), got ${loraRank}`);
  if (config.loraTargets.length === 0) throw new ModelConfigError('loraTargets', 'must name at least one projection');
  for (const t of config.loraTargets)
    if (!LORA_TARGETS.includes(t)) throw new ModelConfigError('loraTargets', `unknown projection '${t}' (expected one of ${LORA_TARGETS.join(', ')})`);
  const loraAlpha = config.loraAlpha ?? 16;
  if (!(loraAlpha > 0)) throw new ModelConfigError('loraAlpha', `must be > 0, got ${loraAlpha}`);
  const perSide = task.imageSide / task.patchSide;
  const patches = perSide * perSide;
  return {
    task,
    dModel,
    blocks: positiveInt('blocks', config.blocks),
    heads,
    ffnDim: positiveInt('ffnDim', config.ffnDim),
    loraRank,
    loraTargets: LORA_TARGETS.filter((t) => config.loraTargets.includes(t)),
    loraAlpha,
    patches,
    tokens: patches + 1,
    patchSize: task.patchSide * task.patchSide,
    inputSize: task.imageSide * task.imageSide,
    classCount: task.classCount,
  };
}

/** Shapes of every frozen weight of the embedding and encoder, by name (the checkpoint's contents). */
export function frozenWeightShapes(c: ResolvedModelConfig): Record<string, number[]> {
  const d = c.dModel;
  const shapes: Record<string, number[]> = {
    'embed/patch/kernel': [c.patchSize, d],
    'embed/patch/bias': [d],
    'embed/cls': [1, d],
    'embed/position': [c.tokens, d],
  };
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
