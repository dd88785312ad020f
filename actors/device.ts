/**
 * Device actor (MODEL.md §1, §2): holds its data shard (by index into the worker's data set),
 * the frozen embedding (per worker), its task module during a round, and its virtual energy
 * queue Q_k. Every cut it sends is charged with its airtime (delay) and transmit energy.
 */
import { produce } from 'immer';
import type { ActorContext, ActorKind, Effect, Envelope } from '../runtime/actor';
import type { BitsByType } from '../runtime/metrics';
import { uplinkRateBps } from '../channels/linkBudget';
import { airtimeS } from '../channels/inverse';
import { updateQueue } from '../scheduler/queues';
import { embed, headStep, initOptimizerState } from '../models';
import type { OptimizerState } from '../models/optimizer';
import type { Admission, CutMessage, QueueReport, QueueUpdate, RoundReport, SlotStart, Upload, Weights } from './protocol';
import { DRIVER_ID, SCHEDULER_ID, SERVER_ID, type LinkParams, type PayloadCosts } from './params';
import { simulationResources } from './resources';

export interface DeviceParams {
  index: number;
  cpuHz: number;
  flopsPerCycle: number;
  powerW: number;
  /** Ē_k, J per round. */
  energyBudgetJ: number;
  kappa: number;
  localIterations: number;
  batchSize: number;
  learningRate: number;
  link: LinkParams;
  costs: PayloadCosts;
}

export interface DeviceState {
  params: DeviceParams;
  /** Q_k(t), J. */
  queueJ: number;
  slot: number;
  gain: number;
  reachable: boolean;
  dropout: boolean;
  admitted: boolean;
  uplinkRateBps: number;
  iteration: number;
  head: Weights | null;
  headOptimizer: OptimizerState | null;
  lossSum: number;
  /** E_k^t spent so far this round, J. */
  energyJ: number;
  bits: BitsByType;
  /** The edge-server shard holding this device's LoRA copy this round. */
  shard: string;
  /** Labels of the mini-batch whose activations are in flight (they never leave the device). */
  labels: Int32Array | null;
}

const noBits = (): BitsByType => ({ activations: 0, features: 0, gradients: 0, heads: 0 });

/** Device compute time and energy of one local iteration: F/(f c) and κ (F/c) f². MODEL.md §4. */
function iterationCompute(p: DeviceParams): { timeS: number; energyJ: number } {
  const cycles = p.costs.deviceFlopsPerIteration / p.flopsPerCycle;
  return { timeS: cycles / p.cpuHz, energyJ: p.kappa * cycles * p.cpuHz * p.cpuHz };
}

function sampleBatch(shard: readonly number[], size: number, ctx: ActorContext): number[] {
  return Array.from({ length: size }, () => shard[ctx.random.int(shard.length)] as number);
}

/** Embeds a fresh mini-batch and sends its activations up; returns the labels kept for the head step. */
function sendActivations(s: DeviceState, ctx: ActorContext, afterS: number): { effects: Effect[]; labels: Int32Array } {
  const { foundation, train, shards } = simulationResources(ctx);
  const shard = shards[s.params.index] ?? [];
  const rows = sampleBatch(shard, s.params.batchSize, ctx);
  const features = new Float32Array(rows.length * train.featureSize);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    features.set(train.features.subarray(r * train.featureSize, (r + 1) * train.featureSize), i * train.featureSize);
    labels[i] = train.labels[r] as number;
  });
  const activations = embed(foundation, features, rows.length);
  const compute = iterationCompute(s.params);
  const upS = airtimeS(s.params.costs.activationsBits, s.uplinkRateBps);
  s.energyJ += compute.energyJ + s.params.powerW * upS;
  s.bits.activations += s.params.costs.activationsBits;
  return {
    labels,
    effects: [{ kind: 'send', to: s.shard, type: 'activations', body: { slot: s.slot, cut: activations }, delayS: afterS + compute.timeS + upS }],
  };
}

export const deviceKind: ActorKind<DeviceState, DeviceParams> = {
  kind: 'device',
  resources: ['simulation'],
  initialState: (params) => ({
    params,
    queueJ: 0,
    slot: -1,
    gain: 0,
    reachable: true,
    dropout: false,
    admitted: false,
    uplinkRateBps: 0,
    iteration: 0,
    head: null,
    headOptimizer: null,
    lossSum: 0,
    energyJ: 0,
    bits: noBits(),
    labels: null,
    shard: '',
  }),

  transition(state, message: Envelope, ctx) {
    let effects: Effect[] = [];
    const next = produce(state, (s) => {
      const p = s.params;
      switch (message.type) {
        case 'slot-start': {
          const m = message.body as SlotStart;
          // Close the previous round's virtual energy queue (E = 0 when not admitted). MODEL.md §6.
          if (s.slot >= 0) {
            s.queueJ = updateQueue(s.queueJ, s.energyJ, p.energyBudgetJ);
            const update: QueueUpdate = { index: p.index, round: s.slot, queue: s.queueJ, energyJ: s.energyJ };
            effects.push({ kind: 'send', to: DRIVER_ID, type: 'queue', body: update });
          }
          Object.assign(s, { slot: m.slot, gain: m.gain, reachable: m.reachable, dropout: m.dropout, admitted: false, energyJ: 0, bits: noBits(), lossSum: 0, iteration: 0, head: null, headOptimizer: null, labels: null });
          if (m.closing || !m.reachable) return; // silent: no report, so the scheduler treats it as unavailable
          const { shards } = simulationResources(ctx);
          const report: QueueReport = {
            index: p.index, id: ctx.self, queue: s.queueJ, gain: m.gain, powerW: p.powerW, cpuHz: p.cpuHz,
            flopsPerCycle: p.flopsPerCycle, deviceFlopsPerIteration: p.costs.deviceFlopsPerIteration, dataSize: shards[p.index]?.length ?? 0,
          };
          effects.push({ kind: 'send', to: SCHEDULER_ID, type: 'queue-report', body: report });
          return;
        }
        case 'admission': {
          const m = message.body as Admission;
          s.admitted = true;
          s.uplinkRateBps = uplinkRateBps(m.fraction, p.link.bandwidthHz, p.powerW, s.gain, p.link.noisePsdWPerHz);
          return;
        }
        case 'global-head': {
          const m = message.body as { slot: number; head: Weights; shard: string };
          if (!s.admitted || s.dropout) return; // a dropped device goes quiet; the server records the failure
          s.head = m.head;
          s.shard = m.shard;
          s.headOptimizer = initOptimizerState(m.head);
          s.bits.heads += p.costs.headBits;
          const sent = sendActivations(s, ctx, 0);
          s.labels = sent.labels;
          effects = sent.effects;
          return;
        }
        case 'features': {
          const m = message.body as { slot: number; cut: CutMessage };
          if (!s.head || !s.headOptimizer || !s.labels) throw new Error(`${ctx.self}: features before the global head`);
          const step = headStep(simulationResources(ctx).foundation, s.head as Weights, s.headOptimizer as OptimizerState, m.cut, s.labels as Int32Array, p.learningRate);
          s.head = step.head;
          s.headOptimizer = step.headOpt;
          s.lossSum += step.loss;
          s.bits.features += p.costs.featuresBits;
          s.bits.gradients += p.costs.gradientsBits;
          s.iteration += 1;
          const gradS = airtimeS(p.costs.gradientsBits, s.uplinkRateBps);
          s.energyJ += p.powerW * gradS;
          effects = [{ kind: 'send', to: s.shard, type: 'cut-gradient', body: { slot: s.slot, cut: step.featureGrad, last: s.iteration >= p.localIterations }, delayS: gradS }];
          if (s.iteration < p.localIterations) {
            const sent = sendActivations(s, ctx, gradS);
            s.labels = sent.labels;
            effects.push(...sent.effects);
            return;
          }
          const headS = airtimeS(p.costs.headBits, s.uplinkRateBps);
          s.energyJ += p.powerW * headS;
          s.bits.heads += p.costs.headBits;
          const upload: Upload = { slot: s.slot, device: ctx.self, dataSize: simulationResources(ctx).shards[p.index]?.length ?? 0, weights: step.head };
          const report: RoundReport = { slot: s.slot, device: ctx.self, energyJ: s.energyJ, bits: { ...s.bits }, meanLoss: s.lossSum / s.iteration, finishT: ctx.t + gradS + headS };
          effects.push(
            { kind: 'send', to: SERVER_ID, type: 'head-upload', body: upload, delayS: gradS + headS },
            { kind: 'send', to: DRIVER_ID, type: 'round-report', body: report, delayS: gradS + headS },
          );
          s.head = null;
          s.headOptimizer = null;
          s.labels = null;
          return;
        }
        default:
          throw new Error(`${ctx.self}: unexpected message ${message.type}`);
      }
    });
    return [next, effects] as const;
  },
};

