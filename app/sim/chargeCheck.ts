/**
 * What the simulation charged against what the scheduler predicted: for every admitted
 * device whose head arrived, its energy E_k against the decision's E_k(β_k), and its finish time
 * against decision time + the decision's T_k (MODEL.md §4). The two are one computation (the
 * medium's charge, channels/transfer.ts) summed per transfer instead of once per round, so they
 * agree to rounding; a run's worst disagreement is what this reports.
 */
import type { Decided, RoundSummary } from '../../actors/roundMessages';

export interface ChargeCheck {
  /** Devices compared (admitted, head arrived), over all rounds. */
  readonly checked: number;
  /** max |E_charged − E_predicted| / E_predicted. */
  readonly maxEnergyRelErr: number;
  /** max |finish − (decidedT + T_predicted)| / (decidedT + T_predicted). */
  readonly maxFinishRelErr: number;
  /** Reported devices that were not admitted, or admitted ones without a prediction. */
  readonly strays: readonly string[];
}

/** Compares each closed round's charges with its decision's predictions. */
export function checkCharges(closed: ReadonlyArray<{ decided: Decided; summary: RoundSummary }>): ChargeCheck {
  let checked = 0;
  let maxEnergyRelErr = 0;
  let maxFinishRelErr = 0;
  const strays: string[] = [];
  for (const { decided, summary } of closed) {
    for (const r of summary.reports) {
      const energyJ = decided.decision.energyJ[r.device];
      const latencyS = decided.decision.latencyS[r.device];
      if (!decided.decision.admitted.includes(r.device) || energyJ === undefined || latencyS === undefined) {
        strays.push(`round ${summary.slot}: ${r.device}`);
        continue;
      }
      const finishT = decided.decidedT + latencyS;
      maxEnergyRelErr = Math.max(maxEnergyRelErr, Math.abs(r.energyJ - energyJ) / energyJ);
      maxFinishRelErr = Math.max(maxFinishRelErr, Math.abs(r.finishT - finishT) / finishT);
      checked++;
    }
  }
  return { checked, maxEnergyRelErr, maxFinishRelErr, strays };
}
