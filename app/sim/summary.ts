/** The per-run figures of MODEL.md §9, computed from the rounds. */
import type { RoundMetrics, RunSummary } from '../metrics';
import { policyLabel } from '../plugins/policySpec';
import type { Scenario } from '../scenario';

/**
 * Tolerance on a device's time-average energy after T rounds, J: 2/T, the horizon-shrinking
 * tolerance the scheduler's queue simulation established for the default V (test/scheduler.queues).
 * The queue dynamics give (1/T) Σ E_k ≤ Ē_k + Q_k(T)/T exactly, and Q_k(T) stays O(V).
 */
export function energyToleranceJ(rounds: number): number {
  return rounds > 0 ? 2 / rounds : Number.POSITIVE_INFINITY;
}

export interface SummaryContext {
  scenario: string;
  policy: string;
  seed: number;
  devices: number;
  energyBudgetJ: number;
  logHash: string;
  backend: string;
  costProfile: string;
  wallS: number;
}

/** The summary's context for a run of `scenario` (a cell's own scenario in a multi-cell system). */
export function summaryContext(
  scenario: Scenario,
  run: Pick<SummaryContext, 'logHash' | 'backend' | 'costProfile' | 'wallS'>,
): SummaryContext {
  return {
    scenario: scenario.name,
    policy: policyLabel(scenario.scheduler.policy),
    seed: scenario.seed,
    devices: scenario.devices.count,
    energyBudgetJ: scenario.devices.energyBudgetJ,
    ...run,
  };
}

/** Summarises a run: time averages over its rounds (MODEL.md §6, §9). */
export function summarise(rounds: readonly RoundMetrics[], ctx: SummaryContext): RunSummary {
  const T = rounds.length;
  const perDevice = new Array<number>(ctx.devices).fill(0);
  for (const r of rounds)
    for (const [id, e] of Object.entries(r.energyJ)) {
      const k = Number(id.slice(1));
      perDevice[k] = (perDevice[k] ?? 0) + e;
    }
  const averages = perDevice.map((e) => (T > 0 ? e / T : 0));
  const last = rounds[T - 1];
  return {
    scenario: ctx.scenario,
    policy: ctx.policy,
    seed: ctx.seed,
    rounds: T,
    devices: ctx.devices,
    finalAccuracy: last?.testAccuracy ?? 0,
    meanAdmitted: T > 0 ? rounds.reduce((s, r) => s + r.admitted.length, 0) / T : 0,
    meanEnergyJPerDevice: averages.reduce((s, e) => s + e, 0) / Math.max(ctx.devices, 1),
    maxEnergyJPerDevice: Math.max(0, ...averages),
    energyBudgetJ: ctx.energyBudgetJ,
    devicesOverBudget: averages.filter((e) => e > ctx.energyBudgetJ + energyToleranceJ(T)).length,
    energyToleranceJ: energyToleranceJ(T),
    timeAveragePenalty: T > 0 ? rounds.reduce((s, r) => s + r.penalty, 0) / T : 0,
    virtualTimeS: last?.virtualTimeS ?? 0,
    wallS: ctx.wallS,
    logHash: ctx.logHash,
    backend: ctx.backend,
    costProfile: ctx.costProfile,
  };
}
