/**
 * Device actor (MODEL.md §1, §2): holds its data shard (by index into the worker's data set),
 * the frozen embedding (per worker), its task module during a round, and its virtual energy
 * queue Q_k. Every cut it sends is charged on its link in the applied decision by the medium's one
 * charge (channels/transfer.ts `completeTransfer`: airtime as the delay, transmit energy), its compute
 * by scheduler/costs.ts `deviceCompute`: the same code as the scheduler's prediction.
 */
import { current, produce, type Draft } from 'immer';
import { fromHandlers, senderOf, type ActorContext, type ActorKind, type Effect, type HandlerTable } from '../runtime/actor';
import { completeTransfer, type TransferCompletion, type TransferRequest } from '../channels/transfer';
import type { LinkState } from '../channels/linkState';
import type { RadioConstants } from '../channels/params';
import { updateQueue } from '../scheduler/queues';
import { deviceCompute } from '../scheduler/costs';
import { embed, headStep, initOptimizerState } from '../models';
import type { OptimizerState } from '../models/optimizer';
import type {
  DeviceMessages,
  DriverMessages,
  HeadUpload,
  QueueReport,
  SchedulerMessages,
  ServerMessages,
  ShardMessages,
  Weights,
} from './roundMessages';
import { DRIVER_ID, type PayloadCosts } from './actorParams';
import { simulationResources } from './resources';

export interface DeviceParams {
  index: number;
  cpuHz: number;
  flopsPerCycle: number;
  /** Ē_k, J per round. */
  energyBudgetJ: number;
  kappa: number;
  localIterations: number;
  batchSize: number;
  learningRate: number;
  /** The medium's constants, with this device's transmit power p_k. */
  radio: RadioConstants;
  costs: PayloadCosts;
  /** Its training shard in the worker's data set (the index among every device of the system). */
  dataIndex: number;
  /** Its cell's edge server and scheduler. */
  server: string;
  scheduler: string;
}

export interface DeviceState {
  params: DeviceParams;
  /** Q_k(t), J. */
  queueJ: number;
  slot: number;
  gain: number;
  reachable: boolean;
  dropout: boolean;
  /** This round's link in the applied decision (null: not admitted). */
  link: LinkState | null;
  iteration: number;
  head: Weights | null;
  headOptimizer: OptimizerState | null;
  lossSum: number;
  /** E_k^t spent so far this round, J. */
  energyJ: number;
  /** Every transfer of this round, both directions, in order. */
  transfers: TransferCompletion[];
  /** The edge-server shard holding this device's LoRA copy this round. */
  shard: string;
  /** Labels of the mini-batch whose activations are in flight (they never leave the device). */
  labels: Int32Array | null;
}

const toShard = senderOf<ShardMessages>();
const toServer = senderOf<ServerMessages>();
const toScheduler = senderOf<SchedulerMessages>();
const toDriver = senderOf<DriverMessages>();

function sampleBatch(shard: readonly number[], size: number, ctx: ActorContext): number[] {
  return Array.from({ length: size }, () => shard[ctx.random.int(shard.length)] as number);
}

/** Charges an uplink transfer of this round on the device's link: adds its energy and keeps it; returns its airtime. MODEL.md §4. */
function chargeUplink(s: Draft<DeviceState>, p: DeviceParams, link: LinkState, type: TransferRequest['type'], bits: number): number {
  const done = completeTransfer({ device: p.index, type, direction: 'uplink', bits }, link, p.radio, s.slot);
  s.energyJ += done.energyJ;
  s.transfers.push(done);
  return done.airtimeS;
}

/** Embeds a fresh mini-batch and sends its activations up after `afterS`; returns the labels kept for the head step. */
function sendActivations(
  s: Draft<DeviceState>,
  p: DeviceParams,
  link: LinkState,
  ctx: ActorContext,
  afterS: number,
): { effects: Effect[]; labels: Int32Array } {
  const { foundation, train, localData } = simulationResources(ctx);
  const rows = sampleBatch(localData[p.dataIndex] ?? [], p.batchSize, ctx);
  const features = new Float32Array(rows.length * train.featureSize);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    features.set(train.features.subarray(r * train.featureSize, (r + 1) * train.featureSize), i * train.featureSize);
    labels[i] = train.labels[r] as number;
  });
  const activations = embed(foundation, features, rows.length);
  const compute = deviceCompute(p.costs.deviceFlopsPerIteration, p.cpuHz, p.flopsPerCycle, p.kappa);
  s.energyJ += compute.energyJ;
  const upS = chargeUplink(s, p, link, 'activations', p.costs.activationsBits);
  return { labels, effects: [toShard(s.shard, 'activations', { slot: s.slot, cut: activations }, afterS + compute.timeS + upS)] };
}

type Transition = readonly [DeviceState, readonly Effect[]];

/**
 * Runs `recipe` on a draft of the state; the effects it returns come back beside the new state.
 * Handlers read what they do not change (params, link, head) from the base state: every read
 * through the draft costs a proxy, and the head's arrays alone are many.
 */
function recipe(state: DeviceState, body: (s: Draft<DeviceState>) => Effect[]): Transition {
  let effects: Effect[] = [];
  const next = produce(state, (s) => {
    effects = body(s);
  });
  return [next, effects];
}

/** The device's handler table: one transition per message of its protocol (actors/roundMessages.ts). */
export const deviceHandlers: HandlerTable<DeviceState, DeviceMessages> = {
  'slot-start': (state, message, ctx) =>
    recipe(state, (s) => {
      const m = message.body;
      const p = state.params;
      const effects: Effect[] = [];
      // Close the previous round's virtual energy queue (E = 0 when not admitted). MODEL.md §6.
      if (s.slot >= 0) {
        s.queueJ = updateQueue(s.queueJ, s.energyJ, p.energyBudgetJ);
        effects.push(toDriver(DRIVER_ID, 'queue', { index: p.index, round: s.slot, queue: s.queueJ, energyJ: s.energyJ }));
      }
      Object.assign(s, {
        slot: m.slot,
        gain: m.gain,
        reachable: m.reachable,
        dropout: m.dropout,
        link: null,
        energyJ: 0,
        transfers: [],
        lossSum: 0,
        iteration: 0,
        head: null,
        headOptimizer: null,
        labels: null,
      });
      if (m.closing || !m.reachable) return effects; // silent: no report, so the scheduler treats it as unavailable
      const { localData } = simulationResources(ctx);
      const report: QueueReport = {
        index: p.index,
        id: ctx.self,
        queue: s.queueJ,
        gain: m.gain,
        powerW: p.radio.powerW,
        cpuHz: p.cpuHz,
        flopsPerCycle: p.flopsPerCycle,
        deviceFlopsPerIteration: p.costs.deviceFlopsPerIteration,
        dataSize: localData[p.dataIndex]?.length ?? 0,
      };
      effects.push(toScheduler(p.scheduler, 'queue-report', report));
      return effects;
    }),

  'global-head': (state, message, ctx) =>
    recipe(state, (s) => {
      const m = message.body;
      if (s.dropout) return []; // a dropped device goes quiet; the server records the failure
      if (m.slot !== s.slot) throw new Error(`${ctx.self}: global head of round ${m.slot} in slot ${s.slot}`);
      s.link = m.link;
      s.head = m.head;
      s.shard = m.shard;
      s.headOptimizer = initOptimizerState(m.head);
      s.transfers.push(m.charge);
      const sent = sendActivations(s, state.params, m.link, ctx, 0);
      s.labels = sent.labels;
      return sent.effects;
    }),

  features: (state, message, ctx) =>
    recipe(state, (s) => {
      const m = message.body;
      const { params: p, link, head, headOptimizer, labels } = state;
      if (!link || !head || !headOptimizer || !labels) throw new Error(`${ctx.self}: features before the global head`);
      s.transfers.push(m.charge);
      const step = headStep(simulationResources(ctx).foundation, head, headOptimizer, m.cut, labels, p.learningRate);
      s.head = step.head;
      s.headOptimizer = step.headOpt;
      s.lossSum += step.loss;
      s.iteration += 1;
      const gradS = chargeUplink(s, p, link, 'gradients', p.costs.gradientsBits);
      const effects: Effect[] = [
        toShard(s.shard, 'cut-gradient', { slot: s.slot, cut: step.featureGrad, last: s.iteration >= p.localIterations }, gradS),
      ];
      if (s.iteration < p.localIterations) {
        const sent = sendActivations(s, p, link, ctx, gradS);
        s.labels = sent.labels;
        return [...effects, ...sent.effects];
      }
      const headS = chargeUplink(s, p, link, 'heads', p.costs.headBits);
      // The head arrives at ctx.t + delay, the runtime's sum: the finish time is that same number.
      const uploadS = gradS + headS;
      const upload: HeadUpload = {
        slot: s.slot,
        device: ctx.self,
        dataSize: simulationResources(ctx).localData[p.dataIndex]?.length ?? 0,
        weights: step.head,
        report: {
          energyJ: s.energyJ,
          transfers: current(s.transfers) as TransferCompletion[],
          meanLoss: s.lossSum / s.iteration,
          finishT: ctx.t + uploadS,
        },
      };
      s.head = null;
      s.headOptimizer = null;
      s.labels = null;
      return [...effects, toServer(p.server, 'head-upload', upload, uploadS)];
    }),
};

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
    link: null,
    iteration: 0,
    head: null,
    headOptimizer: null,
    lossSum: 0,
    energyJ: 0,
    transfers: [],
    labels: null,
    shard: '',
  }),
  transition: fromHandlers(deviceHandlers),
};
