/**
 * The server's and the evaluator's model as ONNX graphs (MODEL.md §1, §2 step 4), built from the
 * configuration and the frozen weights:
 * - `forward`: the encoder over the stacked activations of D devices [D, m, d] (m = b·L), each
 *   with its own LoRA adapters ([D, d, r], [D, r, d]), → features [D, m, d] and what the backward
 *   pass needs (the `kept` names below);
 * - `backward`: the cut gradients [D, m, d] and those kept values → each device's LoRA gradients,
 *   the hand-written backward pass of models/encoderBackward.ts (LayerNorm, GELU, softmax attention and the
 *   adapters' products) written as plain ONNX products;
 * - `score`: raw test samples → logits, through the embedding, the encoder with one adapter and
 *   the task module (whose weights are inputs: they change every round).
 * Frozen weights are initializers; the frozen products act on all D·m rows at once and each
 * adapter on its own device's rows (a batched product over D), as tfjsCompute.ts does.
 */
import { headShapes, type LoraTarget, type ResolvedModelConfig } from '../config';
import { GraphBuilder } from './graph';

/** Frozen weights by checkpoint name (models/config.ts, frozenWeightShapes). */
export type FrozenValues = Readonly<Record<string, Float32Array>>;

/** What block `i` back-propagates into (encoderBackward.ts's blockPlan): its input, and its Q, K, V. */
function blockPlan(c: ResolvedModelConfig, i: number) {
  const needX = i > 0;
  const has = (t: LoraTarget): boolean => c.loraTargets.includes(t);
  const lora = { query: has('query'), key: has('key'), value: has('value'), output: has('output') };
  return { needX, lora, needQKV: needX || lora.query || lora.key || lora.value };
}

/** Names and per-device shapes (of b samples) of the values the forward graph keeps for the backward graph. */
export function keptShapes(c: ResolvedModelConfig): Record<string, (b: number) => number[]> {
  const rows = (cols: number) => (b: number) => [b * c.tokens, cols];
  const heads = (last: number) => (b: number) => [b, c.heads, c.tokens, last];
  const out: Record<string, (b: number) => number[]> = {};
  for (let i = 0; i < c.blocks; i++) {
    const p = `block${i}`;
    const plan = blockPlan(c, i);
    if (plan.needX) Object.assign(out, { [`${p}/ln1/xhat`]: rows(c.dModel), [`${p}/ln1/rstd`]: rows(1) });
    if (plan.lora.query || plan.lora.key || plan.lora.value) out[`${p}/h1`] = rows(c.dModel);
    if (plan.needQKV)
      Object.assign(out, {
        [`${p}/q`]: heads(c.dModel / c.heads),
        [`${p}/k`]: heads(c.dModel / c.heads),
        [`${p}/v`]: heads(c.dModel / c.heads),
        [`${p}/probs`]: heads(c.tokens),
      });
    if (plan.lora.output) out[`${p}/merged`] = rows(c.dModel);
    Object.assign(out, {
      [`${p}/ln2/xhat`]: rows(c.dModel),
      [`${p}/ln2/rstd`]: rows(1),
      [`${p}/ffn1`]: rows(c.ffnDim),
      [`${p}/sigmoid`]: rows(c.ffnDim),
    });
  }
  return out;
}

/** Names of the LoRA inputs ([D, d, r] and [D, r, d]), in loraShapes' order. */
export function adapterNames(c: ResolvedModelConfig): string[] {
  const names: string[] = [];
  for (let i = 0; i < c.blocks; i++) for (const t of c.loraTargets) names.push(`block${i}/${t}/A`, `block${i}/${t}/B`);
  return names;
}

function frozen(w: FrozenValues, name: string): Float32Array {
  const v = w[name];
  if (!v) throw new Error(`internal: frozen weight '${name}' missing`);
  return v;
}

/** W's transpose, [cols, rows] from row-major [rows, cols]. */
function transposed(v: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = v[i * cols + j] as number;
  return out;
}

/** The graph's handles on the frozen weights and the adapter inputs. */
class Encoder {
  readonly scale: number;
  readonly invSqrt: number;
  constructor(
    readonly g: GraphBuilder,
    readonly c: ResolvedModelConfig,
    private readonly w: FrozenValues,
  ) {
    this.scale = c.loraAlpha / c.loraRank;
    this.invSqrt = 1 / Math.sqrt(c.dModel / c.heads);
  }

  /** A frozen weight as an initializer (added once). */
  param(name: string): string {
    if (!this.added.has(name)) {
      const shape = name.endsWith('/kernel')
        ? [frozen(this.w, name).length / this.shapeCols(name), this.shapeCols(name)]
        : [frozen(this.w, name).length];
      this.g.weight(name, frozen(this.w, name), shape);
      this.added.add(name);
    }
    return name;
  }
  private readonly added = new Set<string>();

  private shapeCols(kernel: string): number {
    if (kernel.endsWith('ffn1/kernel')) return this.c.ffnDim;
    return this.c.dModel;
  }

  /** Wᵀ of a projection's kernel as an initializer. */
  paramT(kernel: string): string {
    const name = `${kernel}^T`;
    if (!this.added.has(name)) {
      const cols = this.shapeCols(kernel);
      const v = frozen(this.w, kernel);
      const rows = v.length / cols;
      this.g.weight(name, transposed(v, rows, cols), [cols, rows]);
      this.added.add(name);
    }
    return name;
  }

  hasAdapter(name: string): boolean {
    return this.c.loraTargets.includes(name.split('/')[1] as LoraTarget);
  }

  /** x·W + b, plus s·(x·A)·B on each device's rows when `name` carries an adapter. x: [D, m, dIn]. */
  project(name: string, x: string): string {
    const g = this.g;
    const y = g.add(g.matMul(x, this.param(`${name}/kernel`)), this.param(`${name}/bias`));
    if (!this.hasAdapter(name)) return y;
    return g.add(y, g.mul(g.matMul(g.matMul(x, `${name}/A`), `${name}/B`), g.scalar(this.scale)));
  }

  /** LayerNorm over the last axis (ops.ts's layerNorm, eps 1e-5) → output, x̂ and 1/σ. */
  layerNorm(x: string, gamma: string, beta: string): { y: string; xhat: string; rstd: string } {
    const g = this.g;
    const centered = g.sub(x, g.mean(x, [-1]));
    const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.add(g.mean(g.mul(centered, centered), [-1]), g.scalar(1e-5))])]);
    const xhat = g.mul(centered, rstd);
    return { y: g.add(g.mul(xhat, gamma), beta), xhat, rstd };
  }

  /** LayerNorm `prefix` of the frozen weights. */
  frozenLayerNorm(x: string, prefix: string): { y: string; xhat: string; rstd: string } {
    return this.layerNorm(x, this.param(`${prefix}/gamma`), this.param(`${prefix}/beta`));
  }

  /** LayerNorm's input gradient from its output gradient: rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ. */
  layerNormBackward(dy: string, xhat: string, rstd: string, prefix: string): string {
    const g = this.g;
    const gd = g.mul(dy, this.param(`${prefix}/gamma`));
    return g.mul(rstd, g.sub(g.sub(gd, g.mean(gd, [-1])), g.mul(xhat, g.mean(g.mul(gd, xhat), [-1]))));
  }

  /** [D, m, d] → [D·b, h, L, dh]. */
  splitHeads(x: string): string {
    const c = this.c;
    return this.g.transpose(this.g.reshape(x, [-1, c.tokens, c.heads, c.dModel / c.heads]), [0, 2, 1, 3]);
  }

  /** [D·b, h, L, dh] → the shape `like` ([D, m, d]). */
  mergeHeads(x: string, like: string): string {
    return this.g.op('Reshape', [this.g.transpose(x, [0, 2, 1, 3]), this.g.op('Shape', [like])]);
  }

  /** The encoder blocks over x [D, m, d]; `keep` receives the backward pass's values by keptShapes' names. */
  blocks(x0: string, keep?: Record<string, string>): string {
    const { g, c } = this;
    let x = x0;
    for (let i = 0; i < c.blocks; i++) {
      const p = `block${i}`;
      const plan = blockPlan(c, i);
      const ln1 = this.frozenLayerNorm(x, `${p}/ln1`);
      const q = this.splitHeads(this.project(`${p}/query`, ln1.y));
      const k = this.splitHeads(this.project(`${p}/key`, ln1.y));
      const v = this.splitHeads(this.project(`${p}/value`, ln1.y));
      const probs = g.op('Softmax', [g.mul(g.matMul(q, g.transpose(k, [0, 1, 3, 2])), g.scalar(this.invSqrt))], { axis: -1 });
      const merged = this.mergeHeads(g.matMul(probs, v), x);
      x = g.add(x, this.project(`${p}/output`, merged));
      const ln2 = this.frozenLayerNorm(x, `${p}/ln2`);
      const f1 = this.project(`${p}/ffn1`, ln2.y);
      const sig = g.op('Sigmoid', [g.mul(f1, g.scalar(1.702))]);
      x = g.add(x, this.project(`${p}/ffn2`, g.mul(f1, sig)));
      if (!keep) continue;
      if (plan.needX) Object.assign(keep, { [`${p}/ln1/xhat`]: ln1.xhat, [`${p}/ln1/rstd`]: ln1.rstd });
      if (plan.lora.query || plan.lora.key || plan.lora.value) keep[`${p}/h1`] = ln1.y;
      if (plan.needQKV) Object.assign(keep, { [`${p}/q`]: q, [`${p}/k`]: k, [`${p}/v`]: v, [`${p}/probs`]: probs });
      if (plan.lora.output) keep[`${p}/merged`] = merged;
      Object.assign(keep, { [`${p}/ln2/xhat`]: ln2.xhat, [`${p}/ln2/rstd`]: ln2.rstd, [`${p}/ffn1`]: f1, [`${p}/sigmoid`]: sig });
    }
    return x;
  }

  /** The adapter inputs of every block. */
  adapterInputs(): void {
    const c = this.c;
    for (const name of adapterNames(c)) this.g.input(name, name.endsWith('/A') ? ['D', c.dModel, c.loraRank] : ['D', c.loraRank, c.dModel]);
  }
}

/** [D, m, cols] kept values are stacked per device; the head-split ones are [D·b, h, L, ·]. */
function keptDims(name: string, c: ResolvedModelConfig): (string | number)[] {
  const last = /\/(q|k|v)$/.test(name) ? c.dModel / c.heads : name.endsWith('/probs') ? c.tokens : null;
  if (last !== null) return ['Db', c.heads, c.tokens, last];
  const cols = name.endsWith('/rstd') ? 1 : name.endsWith('/ffn1') || name.endsWith('/sigmoid') ? c.ffnDim : c.dModel;
  return ['D', 'm', cols];
}

/** The forward graph: inputs `x` [D, m, d] and the adapters; outputs `features` [D, m, d] and the kept values. */
export function forwardGraph(c: ResolvedModelConfig, w: FrozenValues): Uint8Array {
  const g = new GraphBuilder('airlora-encoder-forward');
  const enc = new Encoder(g, c, w);
  const x = g.input('x', ['D', 'm', c.dModel]);
  enc.adapterInputs();
  const keep: Record<string, string> = {};
  g.output('features', enc.blocks(x, keep), ['D', 'm', c.dModel]);
  for (const [name, value] of Object.entries(keep)) g.output(name, value, keptDims(name, c));
  return g.toBytes();
}

/** The adapter's gradients and its input's share: u = x·A; dB = s·uᵀ·dy; du = s·dy·Bᵀ; dA = xᵀ·du; dx += du·Aᵀ (ops.ts's loraDense). */
function adapterBackward(enc: Encoder, name: string, dy: string, x: string, outputs: Record<string, string>): string {
  const g = enc.g;
  const bt = (v: string): string => g.transpose(v, [0, 2, 1]);
  const s = g.scalar(enc.scale);
  const u = g.matMul(x, `${name}/A`);
  outputs[`${name}/B`] = g.mul(g.matMul(bt(u), dy), s);
  const du = g.mul(g.matMul(dy, bt(`${name}/B`)), s);
  outputs[`${name}/A`] = g.matMul(bt(x), du);
  return g.matMul(du, bt(`${name}/A`));
}

/** The gradient at a projection's input: dy·Wᵀ, plus the adapter's share (and its gradients into `outputs`). */
function projectBackward(
  enc: Encoder,
  name: string,
  dy: string,
  x: string | null,
  needDx: boolean,
  outputs: Record<string, string>,
): string | null {
  const g = enc.g;
  const fromW = needDx ? g.matMul(dy, enc.paramT(`${name}/kernel`)) : null;
  if (!enc.hasAdapter(name)) return fromW;
  const fromAdapter = adapterBackward(enc, name, dy, x as string, outputs);
  return fromW ? g.add(fromW, fromAdapter) : null;
}

/** The backward graph: inputs `featureGrad` [D, m, d], the kept values and the adapters; outputs each adapter's gradient. */
export function backwardGraph(c: ResolvedModelConfig, w: FrozenValues): Uint8Array {
  const g = new GraphBuilder('airlora-encoder-backward');
  const enc = new Encoder(g, c, w);
  let dx = g.input('featureGrad', ['D', 'm', c.dModel]);
  enc.adapterInputs();
  const kept = (name: string): string => g.input(name, keptDims(name, c));
  for (const name of Object.keys(keptShapes(c))) kept(name);
  const outputs: Record<string, string> = {};
  const one = g.scalar(1);
  for (let i = c.blocks - 1; i >= 0; i--) {
    const p = `block${i}`;
    const plan = blockPlan(c, i);
    // x3 = x2 + ffn2(f1·σ(1.702 f1)), f1 = ffn1(LN2(x2)).
    const f1 = `${p}/ffn1`;
    const sig = `${p}/sigmoid`;
    const dAct = g.matMul(dx, enc.paramT(`${p}/ffn2/kernel`));
    const dF1 = g.mul(dAct, g.add(sig, g.mul(g.mul(f1, g.scalar(1.702)), g.mul(sig, g.sub(one, sig)))));
    const dH2 = g.matMul(dF1, enc.paramT(`${p}/ffn1/kernel`));
    const dX2 = g.add(dx, enc.layerNormBackward(dH2, `${p}/ln2/xhat`, `${p}/ln2/rstd`, `${p}/ln2`));
    // x2 = x + output(merge(probs·v)).
    const dMerged = projectBackward(enc, `${p}/output`, dX2, plan.lora.output ? `${p}/merged` : null, plan.needQKV, outputs);
    if (!plan.needQKV) break;
    const dCtx = enc.splitHeads(dMerged as string);
    const bt = (v: string): string => g.transpose(v, [0, 1, 3, 2]);
    const probs = `${p}/probs`;
    const need = (t: LoraTarget): boolean => plan.needX || plan.lora[t];
    let dS: string | null = null;
    const scores = (): string => {
      if (dS) return dS;
      const dProbs = g.matMul(dCtx, bt(`${p}/v`));
      dS = g.mul(g.mul(probs, g.sub(dProbs, g.sum(g.mul(dProbs, probs), [-1]))), g.scalar(enc.invSqrt));
      return dS;
    };
    // ctx = probs·v, probs = softmax(q·kᵀ/√dh): dV = probsᵀ·dCtx, dQ = dS·k, dK = dSᵀ·q.
    const grads: Array<[LoraTarget, () => string]> = [
      ['query', () => g.matMul(scores(), `${p}/k`)],
      ['key', () => g.matMul(bt(scores()), `${p}/q`)],
      ['value', () => g.matMul(bt(probs), dCtx)],
    ];
    let dH1: string | null = null;
    for (const [t, grad] of grads) {
      if (!need(t)) continue;
      const dT = grad();
      const dIn = projectBackward(enc, `${p}/${t}`, enc.mergeHeads(dT, dx), `${p}/h1`, plan.needX, outputs);
      if (dIn) dH1 = dH1 ? g.add(dH1, dIn) : dIn;
    }
    if (!plan.needX) break;
    dx = g.add(dX2, enc.layerNormBackward(dH1 as string, `${p}/ln1/xhat`, `${p}/ln1/rstd`, `${p}/ln1`));
  }
  for (const name of adapterNames(c)) {
    const v = outputs[name];
    if (!v) throw new Error(`internal: no gradient for '${name}'`);
    g.output(`grad/${name}`, v, name.endsWith('/A') ? ['D', c.dModel, c.loraRank] : ['D', c.loraRank, c.dModel]);
  }
  return g.toBytes();
}

/**
 * The scoring graph: `samples` [b, inputSize] (pixels; int64 token ids for a token task), one
 * device's adapters (D = 1) and the task module's weights → `logits` [b, C].
 */
export function scoreGraph(c: ResolvedModelConfig, w: FrozenValues): Uint8Array {
  const g = new GraphBuilder('airlora-score');
  const enc = new Encoder(g, c, w);
  const d = c.dModel;
  let tokens: string;
  if (c.task.kind === 'tokens') {
    const ids = g.inputInt64('samples', ['b', c.inputSize]);
    g.weight('embed/token', frozen(w, 'embed/token'), [c.task.vocabSize, d]);
    tokens = g.op('Gather', ['embed/token', ids], { axis: 0 });
  } else {
    const side = c.task.imageSide;
    const ps = c.task.patchSide;
    const per = side / ps;
    const pixels = g.input('samples', ['b', c.inputSize]);
    // Row-major patches (transformer.ts's patchify): [b, pr, r, pc, q] → [b, pr, pc, r, q].
    const patches = g.reshape(g.transpose(g.reshape(pixels, [-1, per, ps, per, ps]), [0, 1, 3, 2, 4]), [-1, c.patches, c.patchSize]);
    g.weight('embed/patch/kernel', frozen(w, 'embed/patch/kernel'), [c.patchSize, d]);
    g.weight('embed/patch/bias', frozen(w, 'embed/patch/bias'), [d]);
    tokens = g.add(g.matMul(patches, 'embed/patch/kernel'), 'embed/patch/bias');
  }
  // CLS first, then positions: [b, L, d].
  g.weight('embed/cls', frozen(w, 'embed/cls'), [1, 1, d]);
  g.weight('embed/position', frozen(w, 'embed/position'), [1, c.tokens, d]);
  const batch = g.op('Slice', [g.op('Shape', [tokens]), g.ints([0]), g.ints([1])]);
  const cls = g.op('Expand', ['embed/cls', g.op('Concat', [batch, g.ints([1, d])], { axis: 0 })]);
  const embedded = g.add(g.op('Concat', [cls, tokens], { axis: 1 }), 'embed/position');
  enc.adapterInputs();
  const features = g.reshape(enc.blocks(g.reshape(embedded, [1, -1, d])), [-1, c.tokens, d]);
  // Task module (transformer.ts's headApply): mean over tokens, LayerNorm, dense.
  for (const [name, dims] of Object.entries(headShapes(c))) g.input(name, dims);
  const normed = enc.layerNorm(g.reshape(g.mean(features, [1]), [-1, d]), 'head/ln/gamma', 'head/ln/beta').y;
  g.output('logits', g.add(g.matMul(normed, 'head/dense/kernel'), 'head/dense/bias'), ['b', c.classCount]);
  return g.toBytes();
}
