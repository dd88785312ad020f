/**
 * The messages of one round (MODEL.md §2), types only: one map from message type to body per
 * receiving actor kind (its protocol), so that a message is a discriminated union on `type` and each
 * kind handles its messages from a handler table (runtime/actor.ts `fromHandlers`). A type name
 * carries one body. The round runs in three passes of its runtime slot, driven by the simulation:
 *  A. driver → device `slot-start` (the live medium's channel and faults), device → scheduler
 *     `queue-report`; driver → scheduler `decide`; after its report window the scheduler → driver
 *     `decision` (with the time it was made). Devices settle the previous round's queue → driver `queue`.
 *     The driver applies the decision on the live medium (channels/medium.ts): checked there before
 *     anything uses it.
 *  B. driver → server `round-open` (each admitted device's link in the applied decision); server →
 *     device `global-head` (downlink), → shard `global-lora`; τ iterations of device `activations` →
 *     shard `features` → device `cut-gradient` → shard; device → server `head-upload` (with what it
 *     charged), shard → server `lora-upload`.
 *  C. driver → server `close-round` at the deadline; the server decides who met T_max and the
 *     round's latency, aggregates, → evaluators `global-model`, → driver `round-summary`; evaluators
 *     → driver `evaluation`. In a multi-cell system, every H rounds the server sends its model up
 *     the backhaul instead (→ cloud `edge-model`); when every cell's arrived the cloud merges them,
 *     → each server `cloud-model`, → driver `merge`; each server then sends the merged model to its
 *     evaluators.
 */
import type { Decision } from '../scheduler/instance';
import type { Cut } from '../models/split';
import type { LinkState } from '../channels/linkState';
import type { TransferCompletion } from '../channels/transfer';

/** A tensor crossing a cut: a typed array and its shape (models/split.ts). */
export type CutMessage = Cut;

export type Weights = Record<string, Float32Array>;

/** Pass A: the live medium's state of one device in one slot. */
export interface SlotStart {
  slot: number;
  /** g_k^t, linear, path loss, shadowing and fading included (0 during a link outage). */
  gain: number;
  /** False while the device is silent (fault window): it sends nothing this slot. */
  reachable: boolean;
  /** True if the device drops out of the round after admission (fault). */
  dropout: boolean;
  /** The closing slot after the last round: devices only settle their queues. */
  closing?: boolean;
}

export interface QueueReport {
  index: number;
  id: string;
  queue: number;
  gain: number;
  powerW: number;
  cpuHz: number;
  flopsPerCycle: number;
  deviceFlopsPerIteration: number;
  dataSize: number;
}

export interface Decide {
  slot: number;
  /** w_t of MODEL.md §5. */
  weight: number;
}

/** The scheduler's decision as published to the driver, which applies it on the medium. */
export interface Decided {
  slot: number;
  decision: Decision & { unavailable: string[] };
  /** Virtual time the decision was made (the end of the report window), s. */
  decidedT: number;
  /** Q_k(t) of every device, in device order, as the decision saw them. */
  queues: number[];
  /** |D_k| of each admitted device (the FedAvg weight), by id. */
  dataSizes: Record<string, number>;
}

/** Pass B: the driver opens the round at the edge server with the applied decision. */
export interface RoundOpen {
  slot: number;
  /** Virtual time the decision was made: the round starts then. */
  decidedT: number;
  /** Admitted devices, in the decision's order. */
  admitted: string[];
  /** Each admitted device's link in the applied decision (channels/linkState.ts), by id. */
  links: Record<string, LinkState>;
  dataSizes: Record<string, number>;
}

export interface GlobalHead {
  slot: number;
  head: Weights;
  /** The edge-server shard holding the device's LoRA copy this round. */
  shard: string;
  /** The device's link this round. */
  link: LinkState;
  /** The downlink of this message, as the server charged it. */
  charge: TransferCompletion;
}

export interface GlobalLora {
  slot: number;
  /** The device this LoRA copy serves. */
  device: string;
  dataSize: number;
  lora: Weights;
  /** The device's link this round (the features go down on it). */
  link: LinkState;
  admittedCount: number;
}

export interface Activations {
  slot: number;
  cut: CutMessage;
}

export interface Features {
  slot: number;
  cut: CutMessage;
  /** The downlink of this message, as the shard charged it. */
  charge: TransferCompletion;
}

export interface CutGradient {
  slot: number;
  cut: CutMessage;
  /** The last local iteration: the shard uploads the LoRA copy after it. */
  last: boolean;
}

/** What a device did in a round: everything it charged, sent with its head. */
export interface RoundReport {
  /** E_k^t, J: compute and transmit energy. */
  energyJ: number;
  /** Every transfer of the device this round (both directions), in order. */
  transfers: TransferCompletion[];
  meanLoss: number;
  /** Virtual time at which the device's head upload arrives. */
  finishT: number;
}

export interface Upload {
  slot: number;
  device: string;
  dataSize: number;
  weights: Weights;
}

export interface HeadUpload extends Upload {
  report: RoundReport;
}

/** Pass C: the deadline of round `slot` has passed. */
export interface CloseRound {
  slot: number;
}

export interface GlobalModel {
  slot: number;
  lora: Weights;
  head: Weights;
}

/** The edge server's account of its round: the only place that says who met T_max and how long the round lasted. */
export interface RoundSummary {
  slot: number;
  decidedT: number;
  /** max T_k over the admitted devices, or T_max if one did not deliver in time; 0 with none admitted. MODEL.md §4. */
  latencyS: number;
  aggregated: string[];
  failures: Record<string, string>;
  /** The reports of the devices whose head arrived (in time or not), in admitted order. */
  reports: Array<RoundReport & { device: string }>;
}

/** Pass C of a merge round: an edge server's model, up the backhaul to the cloud (README "Several cells"). */
export interface EdgeModel {
  /** The round after which the cloud merges. */
  round: number;
  /** Training samples behind this model since the last merge: Σ |D_k| of the devices aggregated (the merge weight). */
  samples: number;
  /** Virtual time the edge's round ended (decision time + its latency), s. */
  readyT: number;
  lora: Weights;
  head: Weights;
}

/** The cloud's merged model, down the backhaul to an edge server. */
export interface CloudModel {
  round: number;
  lora: Weights;
  head: Weights;
  /** Virtual time the merged model reaches this edge server, s. */
  arrivesT: number;
}

/** One cell's part in a merge: what its backhaul carried and when. */
export interface MergedCell {
  server: string;
  samples: number;
  /** Bits each way over the backhaul. */
  upBits: number;
  downBits: number;
  /** When the edge's model reached the cloud, and the merged one came back, s. */
  upT: number;
  downT: number;
}

/** The cloud's account of a merge, to the driver. */
export interface Merge {
  round: number;
  /** When the last edge model arrived and the cloud merged, s. */
  mergedT: number;
  cells: MergedCell[];
}

/** One evaluator's score on its slice of the test set; the driver adds the slices in index order (the field `shard` is the slice index, named as in the log). */
export interface Evaluation {
  slot: number;
  shard: number;
  samples: number;
  correct: number;
  lossSum: number;
}

export interface QueueUpdate {
  index: number;
  /** The round whose energy this update settles. */
  round: number;
  queue: number;
  energyJ: number;
}

/** Protocol of the device kind. */
export interface DeviceMessages {
  'slot-start': SlotStart;
  'global-head': GlobalHead;
  features: Features;
}

/** Protocol of the scheduler kind (`report-deadline` is its own timer). */
export interface SchedulerMessages {
  'queue-report': QueueReport;
  decide: Decide;
  'report-deadline': Decide;
}

/** Protocol of the edge-server kind. */
export interface ServerMessages {
  'round-open': RoundOpen;
  'head-upload': HeadUpload;
  'lora-upload': Upload;
  'close-round': CloseRound;
  'cloud-model': CloudModel;
}

/** Protocol of the cloud aggregator kind. */
export interface CloudMessages {
  'edge-model': EdgeModel;
}

/** Protocol of the edge-server shard kind. */
export interface ShardMessages {
  'global-lora': GlobalLora;
  activations: Activations;
  'cut-gradient': CutGradient;
}

/** Protocol of the evaluator kind. */
export interface EvaluatorMessages {
  'global-model': GlobalModel;
}

/** What the actors send the driver. */
export interface DriverMessages {
  decision: Decided;
  queue: QueueUpdate;
  'round-summary': RoundSummary;
  evaluation: Evaluation;
  merge: Merge;
}
