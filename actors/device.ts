/**
 * Device actor (MODEL.md §1, §2): holds its data shard (by index into the worker's data set),
 * the frozen embedding (per worker), its task module during a round, and its virtual energy
 * queue Q_k. Every cut it sends is charged on its link in the applied decision by the medium's one
 * charge (channels/transfer.ts `completeTransfer`: airtime as the delay, transmit energy), its compute
 * by scheduler/costs.ts `deviceCompute`: the same code as the scheduler's prediction.
 */
import { produce } from './recipes';
import {
  fromHandlers,
  senderOf,
  type ActorContext,
  type ActorKind,
  type Effect,
  type Envelope,
  type GroupItem,
  type HandlerTable,
} from '../runtime/actor';
import { completeTransfer, type TransferCompletion, type TransferRequest } from '../channels/transfer';
import type { LinkState } from '../channels/linkState';
import type { RadioConstants } from '../channels/params';
import { updateQueue } from '../scheduler/queues';
import { deviceCompute } from '../scheduler/costs';
import { embed, headStep, initOptimizerState, selectRows, type Cut } from '../models';
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

/** `size` rows drawn from the shard with replacement (one draw each, in order). */
function sampleBatch(shard: readonly number[], size: number, ctx: ActorContext): number[] {
  const rows = new Array<number>(size);
  for (let i = 0; i < size; i++) rows[i] = shard[ctx.random.int(shard.length)] as number;
  return rows;
}

/** What the device's transfers of its open round are charged against. */
interface OpenRound {
  readonly params: DeviceParams;
  readonly link: LinkState;
  readonly slot: number;
  readonly shard: string;
}

/** An uplink transfer of the open round on the device's link (its airtime and transmit energy). MODEL.md §4. */
function uplink(round: OpenRound, type: TransferRequest['type'], bits: number): TransferCompletion {
  return completeTransfer({ device: round.params.index, type, direction: 'uplink', bits }, round.link, round.params.radio, round.slot);
}

/** A fresh mini-batch of the device's shard, drawn from its stream. */
function drawBatch(p: DeviceParams, ctx: ActorContext): { features: Float32Array; labels: Int32Array; count: number } {
  const { train, localData } = simulationResources(ctx);
  return selectRows(train, sampleBatch(localData[p.dataIndex] ?? [], p.batchSize, ctx));
}

/**
 * Embeds a fresh mini-batch and sends its activations up after `afterS`: the send, the labels kept
 * for the head step, the uplink transfer, and the round's energy after `energyJ` (compute, then the transfer).
 */
function sendActivations(round: OpenRound, ctx: ActorContext, afterS: number, energyJ: number): ActivationsSent {
  const batch = drawBatch(round.params, ctx);
  return activationsSent(round, embed(simulationResources(ctx).foundation, batch.features, batch.count), batch.labels, afterS, energyJ);
}

interface ActivationsSent {
  effect: Effect;
  labels: Int32Array;
  transfer: TransferCompletion;
  energyJ: number;
}

/** The send of embedded `activations` (of the batch labelled `labels`) and what it costs: see sendActivations. */
function activationsSent(round: OpenRound, activations: Cut, labels: Int32Array, afterS: number, energyJ: number): ActivationsSent {
  const p = round.params;
  const compute = deviceCompute(p.costs.deviceFlopsPerIteration, p.cpuHz, p.flopsPerCycle, p.kappa);
  const transfer = uplink(round, 'activations', p.costs.activationsBits);
  return {
    effect: toShard(round.shard, 'activations', { slot: round.slot, cut: activations }, afterS + compute.timeS + transfer.airtimeS),
    labels,
    transfer,
    energyJ: energyJ + compute.energyJ + transfer.energyJ,
  };
}

type Transition = readonly [DeviceState, readonly Effect[]];

/**
 * The immer recipe of every handler: writes `changes` on a draft of `state`, each changed field
 * once, and returns the new state beside the effects. Handlers compute the changes from the base
 * state: every read or write through a draft is a proxy trap, and a draft array's push a chain of them.
 */
function recipe(state: DeviceState, changes: Partial<DeviceState>, effects: readonly Effect[]): Transition {
  return [produce(state, (s) => void Object.assign(s, changes)), effects];
}

/** The device's handler table: one transition per message of its protocol (actors/roundMessages.ts). */
export const deviceHandlers: HandlerTable<DeviceState, DeviceMessages> = {
  'slot-start': (state, message, ctx) => {
    const m = message.body;
    const p = state.params;
    const effects: Effect[] = [];
    let queueJ = state.queueJ;
    // Close the previous round's virtual energy queue (E = 0 when not admitted). MODEL.md §6.
    if (state.slot >= 0) {
      queueJ = updateQueue(state.queueJ, state.energyJ, p.energyBudgetJ);
      effects.push(toDriver(DRIVER_ID, 'queue', { index: p.index, round: state.slot, queue: queueJ, energyJ: state.energyJ }));
    }
    // Silent when closing or unreachable: no report, so the scheduler treats it as unavailable.
    if (!m.closing && m.reachable) {
      const report: QueueReport = {
        index: p.index,
        id: ctx.self,
        queue: queueJ,
        gain: m.gain,
        powerW: p.radio.powerW,
        cpuHz: p.cpuHz,
        flopsPerCycle: p.flopsPerCycle,
        deviceFlopsPerIteration: p.costs.deviceFlopsPerIteration,
        dataSize: simulationResources(ctx).localData[p.dataIndex]?.length ?? 0,
      };
      effects.push(toScheduler(p.scheduler, 'queue-report', report));
    }
    return recipe(
      state,
      {
        queueJ,
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
      },
      effects,
    );
  },

  'global-head': (state, message, ctx) => {
    const m = message.body;
    if (state.dropout) return [state, []]; // a dropped device goes quiet; the server records the failure
    if (m.slot !== state.slot) throw new Error(`${ctx.self}: global head of round ${m.slot} in slot ${state.slot}`);
    const sent = sendActivations({ params: state.params, link: m.link, slot: state.slot, shard: m.shard }, ctx, 0, state.energyJ);
    return recipe(
      state,
      {
        link: m.link,
        head: m.head,
        shard: m.shard,
        headOptimizer: initOptimizerState(m.head),
        transfers: [...state.transfers, m.charge, sent.transfer],
        energyJ: sent.energyJ,
        labels: sent.labels,
      },
      [sent.effect],
    );
  },

  features: (state, message, ctx) => featuresGroup([{ state, message, ctx }])[0] as Transition,
};

type FeaturesMessage = Envelope<DeviceMessages['features']> & { readonly type: 'features' };

/**
 * The 'features' message of one or more devices (MODEL.md §2, one local iteration): the head step on
 * the server's features, the cut gradient sent back, then the next mini-batch embedded and sent up,
 * or after the last iteration the head uploaded. In phases over the devices (head steps, batches
 * drawn, embeddings, then the bookkeeping) so that the model calls run back to back; each device's
 * result is what it would be alone (its own stream, the same draws in the same order).
 */
function featuresGroup(items: ReadonlyArray<GroupItem<DeviceState>>): Transition[] {
  const open = items.map(({ state, message, ctx }) => {
    const m = (message as FeaturesMessage).body;
    const { params: p, link, head, headOptimizer, labels, slot, shard } = state;
    if (!link || !head || !headOptimizer || !labels) throw new Error(`${ctx.self}: features before the global head`);
    const round: OpenRound = { params: p, link, slot, shard };
    return { state, m, ctx, round, last: state.iteration + 1 >= p.localIterations, head, headOptimizer, labels };
  });
  const steps = open.map((o) =>
    headStep(simulationResources(o.ctx).foundation, o.head, o.headOptimizer, o.m.cut, o.labels, o.state.params.learningRate),
  );
  const batches = open.map((o) => (o.last ? null : drawBatch(o.state.params, o.ctx)));
  const embedded = open.map((o, i) => {
    const b = batches[i];
    return b ? embed(simulationResources(o.ctx).foundation, b.features, b.count) : null;
  });
  return open.map(({ state, m, ctx, round, last }, i): Transition => {
    const p = state.params;
    const step = steps[i] as ReturnType<typeof headStep>;
    const lossSum = state.lossSum + step.loss;
    const iteration = state.iteration + 1;
    const gradients = uplink(round, 'gradients', p.costs.gradientsBits);
    const energyJ = state.energyJ + gradients.energyJ;
    const cutGradient = toShard(round.shard, 'cut-gradient', { slot: round.slot, cut: step.featureGrad, last }, gradients.airtimeS);
    if (!last) {
      const b = batches[i] as { labels: Int32Array };
      const sent = activationsSent(round, embedded[i] as Cut, b.labels, gradients.airtimeS, energyJ);
      return recipe(
        state,
        {
          transfers: [...state.transfers, m.charge, gradients, sent.transfer],
          head: step.head,
          headOptimizer: step.headOpt,
          lossSum,
          iteration,
          energyJ: sent.energyJ,
          labels: sent.labels,
        },
        [cutGradient, sent.effect],
      );
    }
    const heads = uplink(round, 'heads', p.costs.headBits);
    const transfers = [...state.transfers, m.charge, gradients, heads];
    const roundEnergyJ = energyJ + heads.energyJ;
    // The head arrives at ctx.t + delay, the runtime's sum: the finish time is that same number.
    const uploadS = gradients.airtimeS + heads.airtimeS;
    const upload: HeadUpload = {
      slot: round.slot,
      device: ctx.self,
      dataSize: simulationResources(ctx).localData[p.dataIndex]?.length ?? 0,
      weights: step.head,
      report: { energyJ: roundEnergyJ, transfers, meanLoss: lossSum / iteration, finishT: ctx.t + uploadS },
    };
    return recipe(state, { transfers, head: null, headOptimizer: null, lossSum, iteration, energyJ: roundEnergyJ, labels: null }, [
      cutGradient,
      toServer(p.server, 'head-upload', upload, uploadS),
    ]);
  });
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
  // Only 'features' has work worth grouping (two model calls each); other messages go one by one.
  transitionGroup: (items) => (items.every((it) => it.message.type === 'features') ? featuresGroup(items) : null),
};
