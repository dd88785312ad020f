/** What every run reports (MODEL.md §9, INTERFACE.md output folder). */

import type { BitsByType } from '../channels/traffic';

/** Bits per message type are the medium's account (channels/traffic.ts); metrics report them. */
export type { BitsByType };

/** One round (slot) of a run. */
export interface RoundMetrics {
  round: number;
  /** Ids of admitted devices. */
  admitted: string[];
  /** Bandwidth fraction β_k of each admitted device. */
  bandwidth: Record<string, number>;
  /** Devices admitted whose work was not aggregated (deadline missed, dropout, failure), with the reason. */
  failures: Record<string, string>;
  /** Round latency: virtual time at which the last admitted device finished. */
  latencyS: number;
  /** Energy of each admitted device this round. */
  energyJ: Record<string, number>;
  /** Virtual energy queue Q_k(t+1) of every device, in device order. */
  queues: number[];
  /** Participation penalty Φ_t(S_t). */
  penalty: number;
  bits: BitsByType;
  trainLoss: number;
  testAccuracy: number;
  /** Virtual time at the end of the round. */
  virtualTimeS: number;
  /** Wall-clock seconds of the simulation so far (the only wall-clock figure). */
  wallS: number;
}

/** The whole run, written as summary.json. */
export interface RunSummary {
  scenario: string;
  policy: string;
  seed: number;
  rounds: number;
  devices: number;
  finalAccuracy: number;
  meanAdmitted: number;
  /** Time-average energy per device per round, over all devices. */
  meanEnergyJPerDevice: number;
  /** Highest per-device time-average energy. */
  maxEnergyJPerDevice: number;
  energyBudgetJ: number;
  /** Devices whose time-average energy exceeds the budget by more than `energyToleranceJ`. */
  devicesOverBudget: number;
  /** Tolerance on the time-average energy, shrinking with the horizon (app/sim/summary.ts). */
  energyToleranceJ: number;
  timeAveragePenalty: number;
  virtualTimeS: number;
  wallS: number;
  logHash: string;
  backend: string;
  costProfile: string;
}
