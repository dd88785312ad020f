/** A pure queue simulation (no training) of the Lyapunov scheduler, MODEL.md §6; shared by tests. */
import { RandomStream } from '../util/random';
import { channelGain, dbmToW, pathLossDb } from '../channels/linkBudget';
import { decide, updateQueues, type SlotConstants } from '../scheduler';
import { DEFAULT_PAYLOAD_BITS } from '../scheduler/generate';

export interface QueueSimResult {
  V: number;
  meanPenalty: number;
  meanBacklogJ: number;
  meanEnergyJ: number[];
  maxQueueJ: number[];
  finalQueueJ: number[];
  meanAdmitted: number;
}

/** Runs `slots` slots of the Lyapunov policy on a fixed cell with Rayleigh fading redrawn each slot. */
export function simulateQueues(V: number, slots: number, deviceCount = 20, budgetJ = 0.05, seed = 11): QueueSimResult {
  const root = RandomStream.fromSeed(seed, 'queue-sim');
  const place = root.fork('placement');
  const fading = root.fork('fading');
  const baseGain = Array.from({ length: deviceCount }, () => {
    const r = Math.sqrt(place.between(50 * 50, 500 * 500));
    return channelGain(pathLossDb(r), 8 * place.normal(), 1);
  });
  const params: SlotConstants = {
    V,
    phiEmpty: 2,
    penalty: 'count',
    bandwidthHz: 20e6,
    downlinkBandwidthHz: 20e6,
    noisePsdDbmPerHz: -174,
    noiseFigureDb: 7,
    serverPowerW: dbmToW(43),
    deadlineS: 2,
    serverFlops: 5e13,
    localIterations: 5,
    kappa: 1e-28,
    payloadBits: { ...DEFAULT_PAYLOAD_BITS },
    serverFlopsPerIteration: 4e8,
    devices: baseGain.map((_, k) => ({
      id: `d${k}`,
      powerW: dbmToW(23),
      cpuHz: place.between(1e9, 2e9),
      flopsPerCycle: 16,
      deviceFlopsPerIteration: 1e7,
      dataSize: 100,
    })),
  };
  let queues = new Array<number>(deviceCount).fill(0);
  const budget = new Array<number>(deviceCount).fill(budgetJ);
  const energySum = new Array<number>(deviceCount).fill(0);
  const maxQueue = new Array<number>(deviceCount).fill(0);
  let penaltySum = 0;
  let backlogSum = 0;
  let admittedSum = 0;
  for (let t = 0; t < slots; t++) {
    const gains = baseGain.map((g) => g * fading.exponential(1));
    const decision = decide({ queues }, { gains }, params);
    const energy = params.devices.map((d) => decision.energyJ[d.id] ?? 0);
    energy.forEach((e, k) => (energySum[k] = (energySum[k] as number) + e));
    penaltySum += decision.penalty;
    admittedSum += decision.admitted.length;
    queues = updateQueues(queues, energy, budget);
    if (queues.some((q) => q < 0)) throw new Error('negative queue');
    queues.forEach((q, k) => (maxQueue[k] = Math.max(maxQueue[k] as number, q)));
    backlogSum += queues.reduce((s, q) => s + q, 0) / deviceCount;
  }
  return {
    V,
    meanPenalty: penaltySum / slots,
    meanBacklogJ: backlogSum / slots,
    meanEnergyJ: energySum.map((e) => e / slots),
    maxQueueJ: maxQueue,
    finalQueueJ: queues,
    meanAdmitted: admittedSum / slots,
  };
}
