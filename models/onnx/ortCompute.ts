/**
 * The server's and the evaluator's compute on onnxruntime-node (models/compute.ts): the graphs of
 * encoderGraphs.ts, built once per worker thread from the foundation's weights, one session per
 * graph. Multi-adapter batching as in models/tfjsCompute.ts: the devices of a group with the same batch
 * size run as one [D, b·L, d] pass (a group of mixed sizes runs as one pass per size, in order).
 * What the backward pass needs stays in this thread under the device's key (plain arrays, views
 * of the forward pass's outputs); a key this thread does not hold is rebuilt from the activations
 * the cache carries, as models/keptCache.ts does for tensors.
 */
import { headShapes, loraShapes, sizeOf, type ResolvedModelConfig } from '../config';
import {
  checkForwardItems,
  checkGradientItems,
  type EncoderCache,
  type ForwardItem,
  type ForwardOptions,
  type GradientItem,
  type ServerCompute,
} from '../compute';
import type { Dataset } from '../data/dataset';
import { foundationWeights, type Foundation } from '../foundation';
import { checkSamples, scoreBatches, type HeadWeights, type LoraWeights } from '../split';
import { ShapeError, type Cut } from '../tensors';
import { timeModel } from '../timing';
import { tensorCopy } from '../../util/sharedTensors';
import { adapterNames, backwardGraph, forwardGraph, keptShapes, scoreGraph } from './encoderGraphs';
import { FeedBuffer, GraphSession, type Feed } from './session';

type Kept = Record<string, Float32Array>;

/** Indices of `sizes` grouped by equal value, groups in order of first appearance. */
function bySize(sizes: readonly number[]): number[][] {
  const groups = new Map<number, number[]>();
  sizes.forEach((s, k) => {
    const g = groups.get(s);
    if (g) g.push(k);
    else groups.set(s, [k]);
  });
  return [...groups.values()];
}

/**
 * Equal-sized parts as one array: the parts' own buffer when they are, in order, the whole of one
 * (a forward pass's outputs taken back by the same group), else a copy.
 */
function stack(parts: readonly Float32Array[]): Float32Array {
  const first = parts[0] as Float32Array;
  if (parts.length === 1) return first;
  const n = first.length;
  const whole =
    first.buffer.byteLength === n * parts.length * 4 &&
    parts.every((p, k) => p.buffer === first.buffer && p.byteOffset === k * n * 4 && p.length === n);
  if (whole) return new Float32Array(first.buffer as ArrayBuffer);
  const out = new Float32Array(n * parts.length);
  parts.forEach((p, k) => out.set(p, k * n));
  return out;
}

/**
 * The devices of a group in the order their kept values lie in the forward pass's outputs (by
 * offset; a stable sort), so that `stack` takes them whole instead of copying: the cut gradients
 * of a group come back in the reverse order of its activations. Each device's slice of a batched
 * pass is computed on its own, so the order changes no value.
 */
function inForwardOrder(group: readonly number[], kept: readonly Kept[], name: string): number[] {
  const at = (k: number): number => kept[k]?.[name]?.byteOffset ?? 0;
  return [...group].sort((x, y) => at(x) - at(y));
}

/** The devices' adapters stacked as feeds [D, d, r] and [D, r, d]. */
function adapterFeeds(c: ResolvedModelConfig, loras: readonly LoraWeights[]): Record<string, Feed> {
  const shapes = loraShapes(c);
  const feeds: Record<string, Feed> = {};
  for (const name of adapterNames(c)) {
    const shape = shapes[name] as number[];
    const parts = loras.map((l, k) => {
      const v = l[name];
      if (!v || v.length !== sizeOf(shape))
        throw new ShapeError(
          `${loras.length === 1 ? 'lora' : `lora of device ${k}`}: '${name}' missing or not of shape [${shape.join(', ')}]`,
        );
      return v;
    });
    feeds[name] = { data: stack(parts), dims: [loras.length, ...shape] };
  }
  return feeds;
}

/** The ONNX Runtime compute of one worker thread: the foundation's graphs and the kept intermediates. */
export class OrtCompute implements ServerCompute {
  readonly backend = 'onnxruntime';
  private readonly c: ResolvedModelConfig;
  private readonly forwardSession: GraphSession;
  private readonly backwardSession: GraphSession;
  private readonly scoreSession: GraphSession;
  private readonly keptNames: string[];
  private readonly kept = new Map<string, Kept>();
  /** A lone device's cut in shared memory, copied out for the native binding (util/sharedTensors.ts). */
  private readonly loneCut = new FeedBuffer();

  constructor(private readonly foundation: Foundation) {
    this.c = foundation.config;
    const w = foundationWeights(foundation);
    this.forwardSession = new GraphSession('forward', forwardGraph(this.c, w));
    this.backwardSession = new GraphSession('backward', backwardGraph(this.c, w));
    this.scoreSession = new GraphSession('score', scoreGraph(this.c, w));
    this.keptNames = Object.keys(keptShapes(this.c));
  }

  forward(items: readonly ForwardItem[], options?: ForwardOptions): Array<{ features: Cut; cache: EncoderCache }> {
    const keys = options?.keys;
    const samples = checkForwardItems(this.foundation, items, options);
    const out: Array<{ features: Cut; cache: EncoderCache }> = new Array(items.length);
    for (const group of bySize(samples)) {
      const b = samples[group[0] as number] as number;
      const passes = this.runForward(
        group.map((k) => items[k] as ForwardItem),
        b,
      );
      group.forEach((k, j) => {
        const { features, kept } = passes[j] as { features: Cut; kept: Kept };
        const activations = (items[k] as ForwardItem).activations;
        if (!keys) {
          out[k] = { features, cache: { batchSize: b, activations } };
          return;
        }
        const key = keys[k] as string;
        this.kept.set(key, kept);
        out[k] = { features, cache: { batchSize: b, key, activations } };
      });
    }
    return out;
  }

  /**
   * One forward pass over devices of `b` samples each: each one's features (its own copy) and kept
   * values (views). Timed whole, as tfjsCompute's tidyData times its stacking and read-back.
   */
  private runForward(items: readonly ForwardItem[], b: number): Array<{ features: Cut; kept: Kept }> {
    // A lone device's cut is fed as it is (stacking copies a group's): out of shared memory first, outside the model's time.
    const own =
      items.length === 1
        ? items.map((it) => ({ ...it, activations: { ...it.activations, data: this.loneCut.plain(it.activations.data) } }))
        : items;
    return timeModel(() => this.forwardPass(own, b));
  }

  private forwardPass(items: readonly ForwardItem[], b: number): Array<{ features: Cut; kept: Kept }> {
    const c = this.c;
    const m = b * c.tokens;
    const feeds = {
      x: { data: stack(items.map((it) => it.activations.data)), dims: [items.length, m, c.dModel] },
      ...adapterFeeds(
        c,
        items.map((it) => it.lora),
      ),
    };
    const r = this.forwardSession.run(feeds, ['features', ...this.keptNames]);
    const per = (name: string): number => (r[name] as Float32Array).length / items.length;
    return items.map((_, k) => {
      const kept: Kept = {};
      for (const name of this.keptNames) kept[name] = (r[name] as Float32Array).subarray(k * per(name), (k + 1) * per(name));
      const f = per('features');
      return {
        features: { data: tensorCopy((r.features as Float32Array).subarray(k * f, (k + 1) * f)), shape: [b, c.tokens, c.dModel] },
        kept,
      };
    });
  }

  gradients(items: readonly GradientItem[]): LoraWeights[] {
    const samples = checkGradientItems(this.foundation, items, 'encoderBackward');
    const kept = items.map((it) => this.keptOf(it));
    const out: LoraWeights[] = new Array(items.length);
    for (const group of bySize(samples)) {
      const b = samples[group[0] as number] as number;
      const ordered = inForwardOrder(group, kept, this.keptNames[0] as string);
      const grads = this.runBackward(
        ordered.map((k) => items[k] as GradientItem),
        ordered.map((k) => kept[k] as Kept),
        b,
      );
      ordered.forEach((k, j) => (out[k] = grads[j] as LoraWeights));
    }
    return out;
  }

  /** The device's kept values: taken from this thread, or rebuilt from the activations in its cache. */
  private keptOf(it: GradientItem): Kept {
    const key = it.cache.key;
    const mine = key !== undefined ? this.kept.get(key) : undefined;
    if (mine && key !== undefined) {
      this.kept.delete(key);
      return mine;
    }
    return (this.runForward([{ lora: it.lora, activations: it.cache.activations }], it.cache.batchSize)[0] as { kept: Kept }).kept;
  }

  /** One backward pass over devices of `b` samples each, timed whole (feeds stacked, gradients sliced) as runForward. */
  private runBackward(items: readonly GradientItem[], kept: readonly Kept[], b: number): LoraWeights[] {
    const own =
      items.length === 1
        ? items.map((it) => ({ ...it, featureGrad: { ...it.featureGrad, data: this.loneCut.plain(it.featureGrad.data) } }))
        : items;
    return timeModel(() => this.backwardPass(own, kept, b));
  }

  private backwardPass(items: readonly GradientItem[], kept: readonly Kept[], b: number): LoraWeights[] {
    const c = this.c;
    const m = b * c.tokens;
    const shapes = keptShapes(c);
    const feeds: Record<string, Feed> = {
      featureGrad: { data: stack(items.map((it) => it.featureGrad.data)), dims: [items.length, m, c.dModel] },
      ...adapterFeeds(
        c,
        items.map((it) => it.lora),
      ),
    };
    for (const name of this.keptNames) {
      const dims = (shapes[name] as (b: number) => number[])(b);
      const parts = kept.map((kv) => kv[name] as Float32Array);
      if (parts.some((p) => p === undefined || p.length !== sizeOf(dims)))
        throw new ShapeError(`encoderBackward: kept value '${name}' missing or not of shape [${dims.join(', ')}]`);
      // Head-split values are [D·b, h, L, ·]; the others [D, m, ·].
      feeds[name] = { data: stack(parts), dims: dims.length === 4 ? [items.length * b, ...dims.slice(1)] : [items.length, ...dims] };
    }
    const names = adapterNames(c);
    const r = this.backwardSession.run(
      feeds,
      names.map((n) => `grad/${n}`),
    );
    return items.map((_, k) => {
      const lora: LoraWeights = {};
      for (const name of names) {
        const g = r[`grad/${name}`] as Float32Array;
        const per = g.length / items.length;
        lora[name] = g.slice(k * per, (k + 1) * per);
      }
      return lora;
    });
  }

  release(prefix: string): number {
    let n = 0;
    for (const key of [...this.kept.keys()])
      if (key.startsWith(prefix)) {
        this.kept.delete(key);
        n++;
      }
    return n;
  }

  evaluate(lora: LoraWeights, head: HeadWeights, data: Dataset, maxSamples?: number): { accuracy: number; loss: number } {
    const c = this.c;
    const adapters = adapterFeeds(c, [lora]);
    const headFeeds: Record<string, Feed> = {};
    for (const [name, shape] of Object.entries(headShapes(c))) {
      const v = head[name];
      if (!v || v.length !== sizeOf(shape)) throw new ShapeError(`head: '${name}' missing or not of shape [${shape.join(', ')}]`);
      headFeeds[name] = { data: v, dims: shape };
    }
    return scoreBatches(data, c.classCount, maxSamples, (samples, b) => {
      checkSamples(this.foundation, samples, b);
      const values = samples.subarray(0, b * c.inputSize);
      const input: Feed =
        c.task.kind === 'tokens'
          ? { data: BigInt64Array.from(values, (v) => BigInt(v)), dims: [b, c.inputSize] }
          : { data: values, dims: [b, c.inputSize] };
      return timeModel(() => this.scoreSession.run({ samples: input, ...adapters, ...headFeeds }, ['logits'])).logits as Float32Array;
    });
  }

  dispose(): void {
    this.kept.clear();
    for (const s of [this.forwardSession, this.backwardSession, this.scoreSession]) s.dispose();
  }
}
