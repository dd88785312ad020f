/**
 * Edge-server actor (MODEL.md §1, §2 steps 3, 5 and 6): holds the global LoRA adapters and task
 * module and owns its round. It opens the round on the driver's `round-open` (the links of the
 * applied decision): the head down over the channel to each admitted device, the LoRA copy to the
 * shard the device is dealt to. On `close-round` it is the one place that decides who met T_max (the head
 * upload arrived by decision time + T_max) and how long the round lasted, aggregates what arrived
 * in time with its strategy, and sends the driver the round's summary.
 */
import { produce } from './recipes';
import { fromHandlers, senderOf, type ActorKind, type Effect, type HandlerTable } from '../runtime/actor';
import { completeTransfer } from '../channels/transfer';
import { meetsDeadline, roundLatencyS } from '../scheduler/costs';
import type { RadioConstants } from '../channels/params';
import { initHead, initLora } from '../models';
import type {
  CloudMessages,
  DeviceMessages,
  DriverMessages,
  EvaluatorMessages,
  HeadUpload,
  RoundSummary,
  ServerMessages,
  ShardMessages,
  Upload,
  Weights,
} from './roundMessages';
import { backhaulTransfer, weightBits } from '../channels/backhaul';
import { RandomStream } from '../util/random';
import { DRIVER_ID, type CloudLink, type PayloadCosts } from './actorParams';
import { simulationResources } from './resources';
import { type FitFailure, type FitResult } from './strategy';
import { createStrategy } from './strategyModule';
import type { StrategySpec } from './strategyChoice';

export interface ServerParams {
  /** Its edge-server shards (ids), the admitted devices dealt to them in turn. */
  shards: string[];
  /** Its evaluator shards (ids), scoring slices of the test set. */
  evaluators: string[];
  radio: RadioConstants;
  costs: PayloadCosts;
  aggregation: StrategySpec;
  loraRank: number;
  /** T_max, s. */
  deadlineS: number;
  /** The seed of the initial global model; without it, the actor's own stream (every cell of a system starts from one model). */
  modelSeed?: number;
  /** The cloud aggregator above this edge server (multi-cell systems). */
  cloud?: CloudLink;
}

interface Arrival<U> {
  t: number;
  upload: U;
}

export interface ServerState {
  params: ServerParams;
  lora: Weights;
  head: Weights;
  slot: number;
  /** When the open round's decision was made, s. */
  decidedT: number;
  admitted: string[];
  heads: Record<string, Arrival<HeadUpload>>;
  loras: Record<string, Arrival<Upload>>;
  /** Σ |D_k| of the devices aggregated since the last cloud merge (its weight there). */
  samplesSinceMerge: number;
}

const toDevice = senderOf<DeviceMessages>();
const toShard = senderOf<ShardMessages>();
const toEvaluator = senderOf<EvaluatorMessages>();
const toDriver = senderOf<DriverMessages>();
const toCloud = senderOf<CloudMessages>();

/**
 * Who met T_max and the round's latency (MODEL.md §4, scheduler/costs.ts): an admitted device met
 * it if its head arrived by decision time + T_max and its LoRA copy came back.
 */
export function judgeRound(
  admitted: readonly string[],
  heads: Readonly<Record<string, Arrival<HeadUpload>>>,
  loras: Readonly<Record<string, Arrival<Upload>>>,
  decidedT: number,
  deadlineS: number,
): { latencyS: number; met: string[]; failures: FitFailure[] } {
  const met: string[] = [];
  const failures: FitFailure[] = [];
  const latencies = admitted.map((id) => {
    const head = heads[id];
    if (!head || !loras[id]) {
      failures.push({ device: id, reason: 'dropout' });
      return undefined;
    }
    const latencyS = head.t - decidedT;
    if (meetsDeadline(latencyS, deadlineS)) met.push(id);
    else failures.push({ device: id, reason: 'deadline' });
    return latencyS;
  });
  return { latencyS: roundLatencyS(latencies, deadlineS), met, failures };
}

/**
 * `arrivals` with `device`'s arrival set, as a new record: the recipe writes it on the root draft. (Written
 * into a draft of the record, immer would walk the whole upload, weights and transfers, to finalise it.)
 */
function withArrival<U>(arrivals: Readonly<Record<string, Arrival<U>>>, device: string, arrival: Arrival<U>): Record<string, Arrival<U>> {
  return { ...arrivals, [device]: arrival };
}

/** The edge server's handler table (actors/roundMessages.ts). */
export const serverHandlers: HandlerTable<ServerState, ServerMessages> = {
  'round-open': (state, message) => {
    const m = message.body;
    const p = state.params;
    const strategy = createStrategy(p.aggregation, p.loraRank);
    const starts = strategy.configureFit(m.slot, { lora: state.lora, head: state.head }, m.admitted);
    const effects: Effect[] = [];
    m.admitted.forEach((id, i) => {
      const start = starts.get(id);
      const link = m.links[id];
      if (!start || !link) throw new Error(`round ${m.slot}: admitted device ${id} has no link`);
      const shard = p.shards[i % p.shards.length] as string;
      const charge = completeTransfer(
        { device: link.device, type: 'heads', direction: 'downlink', bits: p.costs.headBits },
        link,
        p.radio,
        m.slot,
      );
      effects.push(
        toDevice(id, 'global-head', { slot: m.slot, head: start.head, shard, link, charge }, charge.airtimeS),
        toShard(shard, 'global-lora', {
          slot: m.slot,
          device: id,
          dataSize: m.dataSizes[id] ?? 0,
          lora: start.lora,
          link,
          admittedCount: m.admitted.length,
        }),
      );
    });
    return [{ ...state, slot: m.slot, decidedT: m.decidedT, admitted: [...m.admitted], heads: {}, loras: {} }, effects];
  },

  'head-upload': (state, message) => {
    const m = message.body;
    if (m.slot !== state.slot) return [state, []]; // a late upload of an earlier round: ignored
    return [produce(state, (s) => void (s.heads = withArrival(state.heads, m.device, { t: message.t, upload: m }))), []];
  },

  'lora-upload': (state, message) => {
    const m = message.body;
    if (m.slot !== state.slot) return [state, []];
    return [produce(state, (s) => void (s.loras = withArrival(state.loras, m.device, { t: message.t, upload: m }))), []];
  },

  'close-round': (state, message) => {
    const m = message.body;
    const p = state.params;
    if (m.slot !== state.slot) throw new Error(`close-round ${m.slot}: the open round is ${state.slot}`);
    const { latencyS, met, failures } = judgeRound(state.admitted, state.heads, state.loras, state.decidedT, p.deadlineS);
    const results: FitResult[] = met.map((id) => {
      const head = (state.heads[id] as Arrival<HeadUpload>).upload;
      return { device: id, dataSize: head.dataSize, head: head.weights, lora: (state.loras[id] as Arrival<Upload>).upload.weights };
    });
    const global = createStrategy(p.aggregation, p.loraRank).aggregateFit(m.slot, results, failures, {
      lora: state.lora,
      head: state.head,
    });
    const summary: RoundSummary = {
      slot: m.slot,
      decidedT: state.decidedT,
      latencyS,
      aggregated: met,
      failures: Object.fromEntries(failures.map((f) => [f.device, f.reason])),
      reports: state.admitted.flatMap((id) => {
        const head = state.heads[id];
        return head ? [{ device: id, ...head.upload.report }] : [];
      }),
    };
    const samplesSinceMerge = state.samplesSinceMerge + results.reduce((n, r) => n + r.dataSize, 0);
    const next: ServerState = { ...state, lora: global.lora, head: global.head, heads: {}, loras: {}, admitted: [], samplesSinceMerge };
    const cloud = p.cloud;
    if (cloud && (m.slot + 1) % cloud.everyRounds === 0) {
      // A merge round: the model goes up the backhaul; the evaluators score the merged one when it comes back.
      const up = backhaulTransfer(
        weightBits(global.lora, cloud.bitsPerElement) + weightBits(global.head, cloud.bitsPerElement),
        cloud.backhaul,
      );
      const edge = { round: m.slot, samples: samplesSinceMerge, readyT: state.decidedT + latencyS, lora: global.lora, head: global.head };
      return [
        { ...next, samplesSinceMerge: 0 },
        [toCloud(cloud.id, 'edge-model', edge, up.delayS), toDriver(DRIVER_ID, 'round-summary', summary)],
      ];
    }
    return [next, [...toEvaluators(p, m.slot, global.lora, global.head), toDriver(DRIVER_ID, 'round-summary', summary)]];
  },

  'cloud-model': (state, message) => {
    const m = message.body;
    return [{ ...state, lora: m.lora, head: m.head }, toEvaluators(state.params, m.round, m.lora, m.head)];
  },
};

/** The global model of round `slot` to every evaluator shard of the cell. */
function toEvaluators(p: ServerParams, slot: number, lora: Weights, head: Weights): Effect[] {
  return p.evaluators.map((id) => toEvaluator(id, 'global-model', { slot, lora, head }));
}

export const serverKind: ActorKind<ServerState, ServerParams> = {
  kind: 'server',
  resources: ['simulation'],
  initialState: (params, ctx) => {
    const { foundation } = simulationResources(ctx);
    const random = params.modelSeed === undefined ? ctx.random : RandomStream.fromSeed(params.modelSeed);
    return {
      params,
      lora: initLora(foundation, random.fork('lora')),
      head: initHead(foundation, random.fork('head')),
      slot: -1,
      decidedT: 0,
      admitted: [],
      heads: {},
      loras: {},
      samplesSinceMerge: 0,
    };
  },
  transition: fromHandlers(serverHandlers),
};
