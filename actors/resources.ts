/**
 * What every worker loads once and shares among all the actors it hosts (frozen weights
 * once per worker, not once per actor): the frozen foundation model, the data sets and the
 * devices' local data. Each worker computes the same partition from the same seed. The data set follows
 * the model's task (digits, or the generated sentiment sentences).
 */
import type { ActorContext } from '../runtime/actor';
import { RandomStream } from '../util/random';
import type { Dataset } from '../models/data/dataset';
import {
  initBackend,
  loadFoundation,
  loadTaskData,
  partitionDirichlet,
  type BackendName,
  type Foundation,
  type ModelConfig,
} from '../models';
import { tfjsCompute, type ServerCompute } from '../models';
import { OrtCompute } from '../models/onnx/ortCompute';

export interface SimulationResourceArgs {
  seed: number;
  backend?: BackendName;
  checkpointDir?: string;
  model: ModelConfig;
  trainSamples: number;
  testSamples: number;
  deviceCount: number;
  dirichletAlpha: number;
  quantitySkewAlpha: number;
}

export interface SimulationResources {
  backend: string;
  foundation: Foundation;
  train: Dataset;
  test: Dataset;
  /** Training-sample indices of each device, D_k. */
  localData: number[][];
  /** The server shards' and the evaluator's model compute on this worker's backend, with the intermediates kept between a shard's two passes (a memo). */
  compute: ServerCompute;
}

/** Loads the per-worker resources of a simulation. */
export async function loadSimulationResources(args: SimulationResourceArgs): Promise<SimulationResources> {
  const backend = await initBackend(args.backend);
  const foundation = await loadFoundation({ checkpointDir: args.checkpointDir || undefined, config: args.model });
  const { train, test } = loadTaskData(foundation.config.task, args.trainSamples, args.testSamples);
  const random = RandomStream.fromSeed(args.seed).fork('data').fork('partition');
  const localData = partitionDirichlet(train.labels, args.deviceCount, args.dirichletAlpha, args.quantitySkewAlpha, random);
  const compute = backend === 'onnxruntime' ? new OrtCompute(foundation) : tfjsCompute(foundation, backend);
  return { backend, foundation, train, test, localData, compute };
}

/** The simulation resources of the worker running this transition. */
export function simulationResources(ctx: ActorContext): SimulationResources {
  const r = ctx.resources['simulation'] as SimulationResources | undefined;
  if (!r) throw new Error(`${ctx.self}: the 'simulation' resource is not loaded on this worker`);
  return r;
}
