/** Synthetic run metrics for the report tests and sample reports (seeded, no Math.random). */
import type { RoundMetrics, RunSummary } from '../app/metrics';
import { RandomStream } from '../util/random';
import type { ReportRun } from '../app/report';

export interface SyntheticRunArgs {
  policy: string;
  seed?: number;
  devices?: number;
  rounds?: number;
  budgetJ?: number;
  /** Mean number of devices admitted per round. */
  admitted?: number;
  /** How fast accuracy rises (rounds to reach ~63% of the way). */
  learnRounds?: number;
}

/** A plausible run: accuracy rising to a plateau, a few devices per round, queues that grow and drain. */
export function syntheticRun(args: SyntheticRunArgs): ReportRun {
  const { policy, seed = 1, devices = 20, rounds = 30, budgetJ = 0.05, admitted = 6, learnRounds = 25 } = args;
  const rng = RandomStream.fromSeed(seed).fork(`synthetic/${policy}`);
  const ids = Array.from({ length: devices }, (_, k) => `d${k}`);
  const cost = ids.map(() => rng.between(0.08, 0.25));
  const queues = ids.map(() => 0);
  const totals = ids.map(() => 0);
  let virtualTimeS = 0;
  const out: RoundMetrics[] = [];
  for (let t = 1; t <= rounds; t++) {
    const n = Math.max(1, Math.min(devices, admitted + rng.int(5) - 2));
    const chosen = rng.shuffle(ids).slice(0, n);
    const weights = chosen.map(() => rng.between(0.5, 1.5));
    const wSum = weights.reduce((s, w) => s + w, 0);
    const bandwidth: Record<string, number> = {};
    const energyJ: Record<string, number> = {};
    const failures: Record<string, string> = {};
    chosen.forEach((id, i) => {
      bandwidth[id] = (weights[i] as number) / wSum;
      energyJ[id] = cost[Number(id.slice(1))] as number;
    });
    if (rng.uniform() < 0.2) failures[chosen[0] as string] = 'deadline missed';
    ids.forEach((id, k) => {
      const e = energyJ[id] ?? 0;
      totals[k] = (totals[k] as number) + e;
      queues[k] = Math.max((queues[k] as number) + e - budgetJ, 0);
    });
    const latencyS = rng.between(0.8, 2);
    virtualTimeS += latencyS;
    out.push({
      round: t,
      admitted: chosen,
      bandwidth,
      failures,
      latencyS,
      energyJ,
      queues: queues.slice(),
      penalty: rng.between(0, 1),
      bits: { activations: 8e6 * n, features: 2e6 * n, gradients: 8e6 * n, heads: 0.2e6 * n },
      trainLoss: 2.3 * Math.exp(-t / learnRounds) + 0.2 + 0.05 * rng.normal(),
      testAccuracy: Math.min(1, 0.1 + 0.8 * (1 - Math.exp(-t / learnRounds)) + 0.01 * rng.normal()),
      virtualTimeS,
      wallS: t * 0.05,
    });
  }
  const avg = totals.map((x) => x / Math.max(1, rounds));
  const summary: RunSummary = {
    scenario: `synthetic-${devices}`,
    energyToleranceJ: 2 / Math.max(1, rounds),
    policy,
    seed,
    rounds,
    devices,
    finalAccuracy: out[out.length - 1]?.testAccuracy ?? 0,
    meanAdmitted: out.reduce((s, m) => s + m.admitted.length, 0) / Math.max(1, rounds),
    meanEnergyJPerDevice: avg.reduce((s, x) => s + x, 0) / devices,
    maxEnergyJPerDevice: Math.max(...avg),
    energyBudgetJ: budgetJ,
    devicesOverBudget: avg.filter((x) => x > budgetJ * 1.01).length,
    timeAveragePenalty: out.reduce((s, m) => s + m.penalty, 0) / Math.max(1, rounds),
    virtualTimeS,
    wallS: rounds * 0.05,
    logHash: `${seed.toString(16).padStart(8, '0')}${policy.length.toString(16)}`.padEnd(64, 'a'),
    backend: 'cpu',
    costProfile: 'default',
  };
  return { summary, rounds: out };
}
