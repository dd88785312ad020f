/**
 * From a scenario to the pieces of a run: device hardware draws, link constants, payload costs
 * (MODEL.md §4) and the default topology (MODEL.md §1). Pure: a function of the scenario.
 */
import type { Scenario } from '../scenario';
import { RandomStream } from '../../util/random';
import { dbmToW, noisePsdWPerHz } from '../../channels/linkBudget';
import { radioConstants } from '../../channels/params';
import { costs as modelCosts, type ModelConfig } from '../../models';
import type { DeviceParams } from '../../actors/device';
import type { ShardParams } from '../../actors/shard';
import type { ServerParams } from '../../actors/server';
import type { SchedulerParams } from '../../actors/scheduler';
import type { EvaluatorParams } from '../../actors/evaluator';
import type { SimulationResourceArgs } from '../../actors/resources';
import { cellIds, deviceId, type CellIds, type LinkParams, type PayloadCosts } from '../../actors/actorParams';

/** One actor of the topology: id, kind (module and export), params and placement hint. */
export interface ActorPlan {
  id: string;
  kind: 'device' | 'shard' | 'server' | 'scheduler' | 'evaluator' | 'cloud';
  params: unknown;
  /** Shards are pinned: shard j runs on worker j mod W, so a round's work spreads evenly. */
  worker?: number;
}

export interface RunPlan {
  scenario: Scenario;
  link: LinkParams;
  costs: PayloadCosts;
  modelConfig: ModelConfig;
  resourceArgs: SimulationResourceArgs;
  actors: ActorPlan[];
  /** Per device, in order: CPU clock f_k. */
  cpuHz: number[];
  /** The actor ids of the cell (single-cell runs: the default topology's names). */
  ids: CellIds;
}

/** Where a cell sits in a multi-cell system (app/sim/cells.ts); a single-cell run has none. */
export interface CellPlacement {
  ids: CellIds;
  /** Index of the cell's first device among every device of the system (its data shards follow). */
  firstDevice: number;
  /** The server's extra params: the system's one initial model and its cloud. */
  server: Pick<ServerParams, 'modelSeed' | 'cloud'>;
}

export function modelConfigOf(scenario: Scenario): ModelConfig {
  const m = scenario.model;
  return {
    task: m.task,
    dModel: m.dModel,
    blocks: m.blocks,
    heads: m.heads,
    ffnDim: m.ffnDim,
    loraRank: m.loraRank,
    loraTargets: m.loraTargets,
  };
}

/** Plans a run of `scenario` (policy already resolved in scenario.scheduler.policy); `placement`: the cell's place in a multi-cell system. */
export function planRun(scenario: Scenario, placement?: CellPlacement): RunPlan {
  const ids = placement?.ids ?? cellIds();
  const root = RandomStream.fromSeed(scenario.seed);
  const link: LinkParams = {
    bandwidthHz: scenario.channel.bandwidthHz,
    downlinkBandwidthHz: scenario.channel.downlinkBandwidthHz,
    noisePsdWPerHz: noisePsdWPerHz(scenario.channel.noisePsdDbmPerHz, scenario.channel.noiseFigureDb),
    serverPowerW: dbmToW(scenario.channel.serverPowerDbm),
  };
  const modelConfig = modelConfigOf(scenario);
  const c = modelCosts(modelConfig, scenario.model.costProfile, scenario.training.batchSize, scenario.model.bitsPerElement);
  const costs: PayloadCosts = {
    activationsBits: c.activationsBits,
    featuresBits: c.featuresBits,
    gradientsBits: c.gradientsBits,
    headBits: c.headBits,
    deviceFlopsPerIteration: c.deviceFlopsPerIteration,
    serverFlopsPerIteration: c.serverFlopsPerIteration,
    profile: scenario.model.costProfile,
  };
  const K = scenario.devices.count;
  const hardware = root.fork('hardware');
  const cpuHz = Array.from({ length: K }, (_, k) =>
    hardware.fork(deviceId(k)).between(scenario.devices.cpuHzMin, scenario.devices.cpuHzMax),
  );
  const radio = radioConstants(scenario);
  const t = scenario.training;
  const actors: ActorPlan[] = [];
  for (let k = 0; k < K; k++) {
    const device: DeviceParams = {
      index: k,
      cpuHz: cpuHz[k] as number,
      flopsPerCycle: scenario.devices.flopsPerCycle,
      energyBudgetJ: scenario.devices.energyBudgetJ,
      kappa: scenario.devices.kappa,
      localIterations: t.localIterations,
      batchSize: t.batchSize,
      learningRate: t.learningRate,
      radio,
      costs,
      dataIndex: (placement?.firstDevice ?? 0) + k,
      server: ids.server,
      scheduler: ids.scheduler,
    };
    actors.push({ id: ids.device(k), kind: 'device', params: device });
  }
  const shards = scenario.runtime.shards;
  const shard: ShardParams = {
    serverFlops: scenario.server.flops,
    costs,
    radio,
    learningRate: t.learningRate,
    batchDevices: scenario.runtime.batchDevices,
    server: ids.server,
  };
  for (let j = 0; j < shards; j++) actors.push({ id: ids.shard(j), kind: 'shard', params: shard, worker: j });
  const evalSamples = Math.min(t.evalSamples, scenario.data.testSamples);
  for (let j = 0; j < shards; j++) {
    const evaluator: EvaluatorParams = { shard: j, shards, evalSamples };
    actors.push({ id: ids.evaluator(j), kind: 'evaluator', params: evaluator, worker: j });
  }
  const shardIds = Array.from({ length: shards }, (_, j) => ids.shard(j));
  const evaluatorIds = Array.from({ length: shards }, (_, j) => ids.evaluator(j));
  const server: ServerParams = {
    radio,
    costs,
    aggregation: t.aggregation,
    loraRank: scenario.model.loraRank,
    shards: shardIds,
    evaluators: evaluatorIds,
    deadlineS: t.deadlineS,
    ...placement?.server,
  };
  const scheduler: SchedulerParams = {
    policy: scenario.scheduler.policy,
    randomCount: scenario.scheduler.randomCount,
    policySeed: root.fork('policy').nextUint32(),
    deviceCount: K,
    devicePrefix: ids.prefix,
    costs,
    constants: {
      V: scenario.scheduler.V,
      phiEmpty: scenario.scheduler.phiEmpty,
      penalty: scenario.scheduler.penalty,
      bandwidthHz: link.bandwidthHz,
      downlinkBandwidthHz: link.downlinkBandwidthHz,
      noisePsdDbmPerHz: scenario.channel.noisePsdDbmPerHz,
      noiseFigureDb: scenario.channel.noiseFigureDb,
      serverPowerW: link.serverPowerW,
      deadlineS: t.deadlineS,
      serverFlops: scenario.server.flops,
      localIterations: t.localIterations,
      kappa: scenario.devices.kappa,
    },
  };
  actors.push({ id: ids.server, kind: 'server', params: server });
  actors.push({ id: ids.scheduler, kind: 'scheduler', params: scheduler });
  const resourceArgs: SimulationResourceArgs = {
    seed: scenario.seed,
    checkpointDir: scenario.model.checkpoint || undefined,
    model: modelConfig,
    trainSamples: scenario.data.trainSamples,
    testSamples: scenario.data.testSamples,
    deviceCount: K,
    dirichletAlpha: scenario.data.dirichletAlpha,
    quantitySkewAlpha: scenario.data.quantitySkewAlpha,
  };
  return { scenario, link, costs, modelConfig, resourceArgs, actors, cpuHz, ids };
}
