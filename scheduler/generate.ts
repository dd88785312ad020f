/**
 * Random per-slot instances around the default cell of MODEL.md §8 (channel of §3, payloads of
 * §4), for tests, benchmarks and experiments. Seeded: every draw comes from the given stream.
 */
import { channelGain, dbmToW, pathLossDb } from '../channels/linkBudget';
import type { RandomStream } from '../util/random';
import type { PenaltyKind, SlotDevice, SlotInstance } from './instance';

/** What `createRandomInstance` varies; anything left out is drawn (or defaults to MODEL.md §8). */
export interface RandomInstanceOptions {
  readonly deviceCount: number;
  /** Fixed V; default log-uniform in [0.1, 1000]. */
  readonly V?: number;
  /** Fixed penalty kind; default 'count' with probability 3/4. */
  readonly penalty?: PenaltyKind;
  /** Mean of the exponential queues, joules; default log-uniform in [0.01, 10]. */
  readonly queueMeanJ?: number;
  /** Share of devices with an empty queue; default uniform in [0, 0.5]. */
  readonly zeroQueueShare?: number;
  /** Share of devices that did not report; default 0. */
  readonly unavailableShare?: number;
  /** T_max; default uniform in [1, 3] s. */
  readonly deadlineS?: number;
  /** w_t; default uniform in [0.2, 1]. */
  readonly weight?: number;
}

/** Per-iteration payloads of the default digits model (b = 16, 17 tokens, d = 128, q = 32). MODEL.md §8. */
export const DEFAULT_PAYLOAD_BITS = {
  activations: 16 * 17 * 128 * 32,
  features: 16 * 17 * 128 * 32,
  gradients: 16 * 17 * 128 * 32,
  head: 41280,
} as const;

/** Gain of a device at a uniform position in the cell with shadowing and Rayleigh fading (MODEL.md §3). */
export function drawGain(stream: RandomStream, radiusM = 500, minDistanceM = 50, shadowingDb = 8): number {
  const r = Math.sqrt(stream.between(minDistanceM * minDistanceM, radiusM * radiusM));
  return channelGain(pathLossDb(r), shadowingDb * stream.normal(), stream.exponential(1));
}

/** A random instance in the spirit of the default cell (MODEL.md §8), drawn from `stream`. */
export function createRandomInstance(stream: RandomStream, options: RandomInstanceOptions): SlotInstance {
  const V = options.V ?? Math.exp(stream.between(Math.log(0.1), Math.log(1000)));
  const penalty: PenaltyKind = options.penalty ?? (stream.uniform() < 0.75 ? 'count' : 'data');
  const queueMean = options.queueMeanJ ?? Math.exp(stream.between(Math.log(0.01), Math.log(10)));
  const zeroShare = options.zeroQueueShare ?? stream.between(0, 0.5);
  const serverFlopsPerIteration = Math.exp(stream.between(Math.log(1e8), Math.log(2e11)));
  const devices: SlotDevice[] = [];
  for (let i = 0; i < options.deviceCount; i++) {
    const unavailable = options.unavailableShare !== undefined && stream.uniform() < options.unavailableShare;
    devices.push({
      id: `d${i}`,
      queue: stream.uniform() < zeroShare ? 0 : stream.exponential(queueMean),
      gain: drawGain(stream),
      powerW: dbmToW(23),
      cpuHz: stream.between(1e9, 2e9),
      flopsPerCycle: 16,
      deviceFlopsPerIteration: Math.exp(stream.between(Math.log(1e6), Math.log(3e9))),
      dataSize: 50 + stream.int(400),
      ...(unavailable ? { available: false } : {}),
    });
  }
  return {
    V,
    weight: options.weight ?? stream.between(0.2, 1),
    phiEmpty: 2,
    penalty,
    bandwidthHz: 20e6,
    downlinkBandwidthHz: 20e6,
    noisePsdDbmPerHz: -174,
    noiseFigureDb: 7,
    serverPowerW: dbmToW(43),
    deadlineS: options.deadlineS ?? stream.between(1, 3),
    serverFlops: 5e13,
    localIterations: 5,
    kappa: 1e-28,
    payloadBits: { ...DEFAULT_PAYLOAD_BITS },
    serverFlopsPerIteration,
    devices,
  };
}
