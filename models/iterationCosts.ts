/**
 * Payloads and computation per local iteration (MODEL.md §4), counted from a model's shapes:
 * either the model that actually trains ('actual') or a named cost profile (a real foundation
 * model's encoder) so the channel is charged like a real deployment while a small model trains.
 * A profile replaces the width, depth, heads and FFN of the embedding, encoder and head; the
 * task's token count, patch size (or token table) and class count stay those of the actual model.
 *
 * FLOPs count a multiply-add as 2. Matrix products are exact for the shapes; element-wise work is
 * approximated per element (LayerNorm 8, GELU 8, softmax 5, residual add 1, bias 1). The
 * encoder's backward pass computes activation gradients and LoRA gradients only (the frozen
 * weights get no gradient): a frozen product costs as much backward as forward, a LoRA product
 * twice, an attention product twice. The split API recomputes the encoder's forward pass inside
 * encoderBackward (the server keeps no tensors); F_enc,train here is the algorithmic
 * forward + backward, without that recomputation.
 */
import type { LoraTarget, ModelConfig, ResolvedModelConfig } from './config';
import { resolveConfig } from './config';

export interface CostProfileSpec {
  readonly description: string;
  readonly dModel: number;
  readonly blocks: number;
  readonly heads: number;
  readonly ffnDim: number;
}

/** Named cost profiles. */
export const COST_PROFILES: Readonly<Record<'bert-base' | 'bert-large' | 'vit-base', CostProfileSpec>> = {
  'bert-base': {
    description: 'BERT-base-sized encoder (Devlin et al. 2019): d 768, 12 blocks, 12 heads, FFN 3072',
    dModel: 768,
    blocks: 12,
    heads: 12,
    ffnDim: 3072,
  },
  'bert-large': {
    description: 'BERT-large-sized encoder: d 1024, 24 blocks, 16 heads, FFN 4096',
    dModel: 1024,
    blocks: 24,
    heads: 16,
    ffnDim: 4096,
  },
  'vit-base': {
    description: 'ViT-B-sized encoder (Dosovitskiy et al. 2021): d 768, 12 blocks, 12 heads, FFN 3072',
    dModel: 768,
    blocks: 12,
    heads: 12,
    ffnDim: 3072,
  },
};

export type CostProfileName = 'actual' | keyof typeof COST_PROFILES;

export interface ModuleFlops {
  /** Embedding forward, per sample (F_emb). */
  embedForward: number;
  /** Encoder forward, per sample. */
  encoderForward: number;
  /** Encoder backward into the LoRA adapters, per sample. */
  encoderBackward: number;
  /** Task module forward, per sample (F_head). */
  headForward: number;
  /** Task module backward, per sample (measured by shapes; MODEL.md charges 2 F_head). */
  headBackward: number;
}

export interface Costs {
  /** Which profile was used: 'actual' or a COST_PROFILES name. Say it in the report (MODEL.md §4). */
  profile: CostProfileName;
  profileDescription: string;
  dModel: number;
  blocks: number;
  /** Tokens per sample L, and tokens crossing the server → device cut L_f. */
  tokens: number;
  featureTokens: number;
  batchSize: number;
  bitsPerElement: number;
  /** s_a = b·L·d·q, uplink per local iteration. */
  activationsBits: number;
  /** s_f = b·L_f·d·q, downlink per local iteration. */
  featuresBits: number;
  /** s_g = s_f, uplink per local iteration. */
  gradientsBits: number;
  /** s_h = |θ_head|·q, per round each way. */
  headBits: number;
  headParams: number;
  loraParams: number;
  /** Per-sample FLOPs of each module. */
  flops: ModuleFlops;
  /** F_emb + 3 F_head (MODEL.md §4). */
  deviceFlopsPerSample: number;
  /** F_enc,train = encoder forward + backward. */
  serverFlopsPerSample: number;
  /** F_k^dev = b (F_emb + 3 F_head), per local iteration. */
  deviceFlopsPerIteration: number;
  /** F^srv = b F_enc,train, per local iteration. */
  serverFlopsPerIteration: number;
}

interface Shape {
  d: number;
  blocks: number;
  heads: number;
  ffn: number;
  tokens: number;
  patches: number;
  patchSize: number;
  /** 'patches' (default): a dense projection of each patch; 'tokens': a table lookup, no arithmetic. */
  embedding?: 'patches' | 'tokens';
  classes: number;
  rank: number;
  targets: readonly LoraTarget[];
}

/** Per-sample FLOPs of each module for the given shapes. */
export function moduleFlops(s: Shape): ModuleFlops {
  const { d, tokens: L, ffn: f } = s;
  const dh = d / s.heads;
  // Patches: projection, bias, positions. Tokens: a row copy per position, then the positions.
  const embedForward = s.embedding === 'tokens' ? L * d : 2 * s.patches * s.patchSize * d + s.patches * d + L * d;
  const projFwd = 4 * 2 * L * d * d;
  const ffnFwd = 2 * 2 * L * d * f;
  const attnFwd = 2 * (2 * s.heads * L * L * dh);
  const loraFwd = s.targets.length * 2 * L * (d * s.rank + s.rank * d);
  const elemFwd = 2 * 8 * L * d + 8 * L * f + 5 * s.heads * L * L + 2 * L * d + 4 * L * d + L * f;
  const blockFwd = projFwd + ffnFwd + attnFwd + loraFwd + elemFwd;
  const blockBwd = projFwd + ffnFwd + 2 * attnFwd + 2 * loraFwd + 2 * elemFwd;
  const headForward = L * d + 8 * d + 2 * d * s.classes + s.classes;
  const headBackward = L * d + 16 * d + 4 * d * s.classes + 2 * s.classes;
  return { embedForward, encoderForward: s.blocks * blockFwd, encoderBackward: s.blocks * blockBwd, headForward, headBackward };
}

/** Parameters of the task module: LayerNorm (2d) and the dense layer (d·C + C). */
export function headParamCount(d: number, classes: number): number {
  return 2 * d + d * classes + classes;
}

/**
 * Payloads and FLOPs per local iteration (MODEL.md §4) for `profile`, batch b and q bits per
 * element. `featureTokens` is L_f (default L: the head pools on the device).
 */
export function costs(
  model: ModelConfig | ResolvedModelConfig | { config: ResolvedModelConfig },
  profile: CostProfileName,
  batchSize: number,
  bitsPerElement: number,
  opts: { featureTokens?: number } = {},
): Costs {
  const c: ResolvedModelConfig = 'config' in model ? model.config : 'patches' in model ? model : resolveConfig(model);
  const spec = profile === 'actual' ? undefined : COST_PROFILES[profile];
  if (profile !== 'actual' && !spec)
    throw new Error(`costs: unknown profile '${String(profile)}' (expected actual or ${Object.keys(COST_PROFILES).join(', ')})`);
  const shape: Shape = {
    d: spec?.dModel ?? c.dModel,
    blocks: spec?.blocks ?? c.blocks,
    heads: spec?.heads ?? c.heads,
    ffn: spec?.ffnDim ?? c.ffnDim,
    tokens: c.tokens,
    patches: c.patches,
    patchSize: c.patchSize,
    embedding: c.task.kind,
    classes: c.classCount,
    rank: c.loraRank,
    targets: c.loraTargets,
  };
  const featureTokens = opts.featureTokens ?? shape.tokens;
  const q = bitsPerElement;
  const flops = moduleFlops(shape);
  const headParams = headParamCount(shape.d, shape.classes);
  const deviceFlopsPerSample = flops.embedForward + 3 * flops.headForward;
  const serverFlopsPerSample = flops.encoderForward + flops.encoderBackward;
  return {
    profile,
    profileDescription: spec?.description ?? `the trained model: d ${c.dModel}, ${c.blocks} blocks, ${c.heads} heads, FFN ${c.ffnDim}`,
    dModel: shape.d,
    blocks: shape.blocks,
    tokens: shape.tokens,
    featureTokens,
    batchSize,
    bitsPerElement: q,
    activationsBits: batchSize * shape.tokens * shape.d * q,
    featuresBits: batchSize * featureTokens * shape.d * q,
    gradientsBits: batchSize * featureTokens * shape.d * q,
    headBits: headParams * q,
    headParams,
    loraParams: shape.blocks * shape.targets.length * 2 * shape.d * shape.rank,
    flops,
    deviceFlopsPerSample,
    serverFlopsPerSample,
    deviceFlopsPerIteration: batchSize * deviceFlopsPerSample,
    serverFlopsPerIteration: batchSize * serverFlopsPerSample,
  };
}
