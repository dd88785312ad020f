/**
 * The messages of one round (MODEL.md §2), types only. Slot phases, driven by the simulation:
 *  1. driver → device `slot-start` (the medium's link state); device → scheduler `queue-report`.
 *  2. driver → scheduler `decide`; scheduler → server `decision`, → admitted devices `admission`;
 *     server → device `global-head` (downlink), → session `global-lora`; then τ iterations of
 *     device `activations` → session `features` → device `cut-gradient` → session; finally
 *     device → server `head-upload`, session → server `lora-upload`, device → driver `round-report`.
 *  3. driver → server `aggregate`, → devices `round-end`; server → evaluator `global-model`;
 *     evaluator → driver `evaluation`; server → driver `round-summary`; device → driver `queue`.
 */
import type { Decision } from '../scheduler/instance';
import type { BitsByType } from '../runtime/metrics';
import type { Cut } from '../models/split';

/** A tensor crossing a cut: a typed array and its shape (models/split.ts). */
export type CutMessage = Cut;

export type Weights = Record<string, Float32Array>;

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

export interface Admission {
  slot: number;
  fraction: number;
  admittedCount: number;
}

export interface RoundOpen {
  slot: number;
  decision: Decision;
}

export interface SessionOpen {
  slot: number;
  /** The device this LoRA copy serves. */
  device: string;
  dataSize: number;
  lora: Weights;
  /** Downlink rate of this session's device for the decided fraction. */
  downlinkRateBps: number;
  admittedCount: number;
}

export interface Upload {
  slot: number;
  device: string;
  dataSize: number;
  weights: Weights;
}

export interface RoundReport {
  slot: number;
  device: string;
  energyJ: number;
  bits: BitsByType;
  meanLoss: number;
  /** Virtual time at which the device's head upload arrives. */
  finishT: number;
}

export interface Aggregate {
  slot: number;
  /** Slot start + T_max: uploads arriving later are cut off. */
  deadlineT: number;
  roundStartT: number;
}

export interface RoundSummary {
  slot: number;
  aggregated: string[];
  failures: Record<string, string>;
}

/** One evaluator shard's score on its slice of the test set; the driver adds the slices in shard order. */
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
