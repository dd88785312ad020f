/**
 * Shapes run metrics (MODEL.md §9) into the small tables the report plots.
 * Large runs are reduced here (rounds averaged in bins, heat-map cells binned),
 * so the SVGs stay small whatever the number of devices and rounds.
 */
import type { RoundMetrics, RunSummary } from '../metrics';

/** One run as the report sees it: summary.json and its per-round metrics. */
export interface ReportRun {
  summary: RunSummary;
  rounds: RoundMetrics[];
}

/** One point of a per-round line, averaged over a bin of consecutive rounds when the run is long. */
export interface RoundPoint {
  run: string;
  round: number;
  virtualTimeS: number;
  accuracy: number;
  trainLoss: number;
  admitted: number;
  aggregated: number;
  latencyS: number;
  meanQueue: number;
  maxQueue: number;
  activationsMbit: number;
  featuresMbit: number;
  gradientsMbit: number;
  headsMbit: number;
}

/** Time-average energy of one device over a run. */
export interface DeviceEnergy {
  run: string;
  device: string;
  /** 1-based position when the run's devices are sorted by energy, highest first. */
  rank: number;
  energyJ: number;
}

/** One heat-map cell: the bandwidth share held by a block of devices over a block of rounds. */
export interface BandwidthCell {
  run: string;
  roundStart: number;
  roundEnd: number;
  deviceStart: number;
  deviceEnd: number;
  /** Σβ over the block's devices, averaged over the block's rounds. */
  share: number;
}

/** Compares device ids the way a person counts: "d2" before "d10". */
export const compareDeviceIds: (a: string, b: string) => number = new Intl.Collator('en', { numeric: true }).compare;

/**
 * One distinct label per run: the policy name, with the seed when two runs share a
 * policy, and a number when they share both.
 */
export function runLabels(runs: readonly ReportRun[]): string[] {
  const count = (xs: string[], x: string): number => xs.filter((y) => y === x).length;
  const policies = runs.map((r) => r.summary.policy);
  const withSeed = runs.map((r, i) =>
    count(policies, policies[i] as string) > 1 ? `${r.summary.policy} (seed ${r.summary.seed})` : r.summary.policy,
  );
  return withSeed.map((l, i) => (count(withSeed, l) > 1 ? `${l} #${i + 1}` : l));
}

/** The per-round values of one round, before binning. */
function roundPoint(run: string, m: RoundMetrics): RoundPoint {
  let queueSum = 0;
  let queueMax = 0;
  for (const q of m.queues) {
    queueSum += q;
    if (q > queueMax) queueMax = q;
  }
  const failed = Object.keys(m.failures).filter((id) => m.admitted.includes(id)).length;
  return {
    run,
    round: m.round,
    virtualTimeS: m.virtualTimeS,
    accuracy: m.testAccuracy,
    trainLoss: m.trainLoss,
    admitted: m.admitted.length,
    aggregated: m.admitted.length - failed,
    latencyS: m.latencyS,
    meanQueue: m.queues.length > 0 ? queueSum / m.queues.length : 0,
    maxQueue: queueMax,
    activationsMbit: m.bits.activations / 1e6,
    featuresMbit: m.bits.features / 1e6,
    gradientsMbit: m.bits.gradients / 1e6,
    headsMbit: m.bits.heads / 1e6,
  };
}

const NUMERIC_FIELDS = [
  'round',
  'virtualTimeS',
  'accuracy',
  'trainLoss',
  'admitted',
  'aggregated',
  'latencyS',
  'meanQueue',
  'maxQueue',
  'activationsMbit',
  'featuresMbit',
  'gradientsMbit',
  'headsMbit',
] as const;

/**
 * Per-round points of a run; with more than `maxPoints` rounds, consecutive rounds
 * are averaged in equal bins (every field, including round and virtual time), except
 * maxQueue, which keeps the bin's maximum. Non-finite values (a NaN loss in a round
 * where nobody trained) are left out of a bin's mean.
 */
export function roundPoints(run: string, rounds: readonly RoundMetrics[], maxPoints = 400): RoundPoint[] {
  const points = rounds.map((m) => roundPoint(run, m));
  if (points.length <= maxPoints) return points;
  const size = Math.ceil(points.length / maxPoints);
  const out: RoundPoint[] = [];
  for (let start = 0; start < points.length; start += size) {
    const bin = points.slice(start, start + size);
    const p = { run } as RoundPoint;
    for (const field of NUMERIC_FIELDS) {
      const values = bin.map((b) => b[field]).filter((v) => Number.isFinite(v));
      p[field] =
        values.length === 0 ? Number.NaN : field === 'maxQueue' ? Math.max(...values) : values.reduce((s, v) => s + v, 0) / values.length;
    }
    out.push(p);
  }
  return out;
}

/** Device ids seen in any run (admitted, given bandwidth or energy), in natural order. */
export function deviceIds(runs: readonly ReportRun[]): string[] {
  const ids = new Set<string>();
  for (const r of runs) {
    for (const m of r.rounds) {
      for (const id of m.admitted) ids.add(id);
      for (const id of Object.keys(m.energyJ)) ids.add(id);
      for (const id of Object.keys(m.bandwidth)) ids.add(id);
    }
  }
  return [...ids].sort(compareDeviceIds);
}

/**
 * Time-average energy of every device of a run, (1/T) Σ_t E_k^t (MODEL.md §6), ranked
 * highest first. Devices never admitted are padded in with 0 J (named "(never admitted)"),
 * up to summary.devices.
 */
export function deviceEnergies(run: string, r: ReportRun, ids: readonly string[]): DeviceEnergy[] {
  const totals = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const m of r.rounds) {
    for (const id of Object.keys(m.energyJ).sort()) {
      totals.set(id, (totals.get(id) ?? 0) + (m.energyJ[id] ?? 0));
    }
  }
  const T = Math.max(1, r.rounds.length);
  const list = [...totals].map(([device, total]) => ({ device, energyJ: total / T }));
  for (let i = list.length; i < r.summary.devices; i++) list.push({ device: '(never admitted)', energyJ: 0 });
  const ranked = list
    .map((d, i) => ({ ...d, i }))
    .sort((a, b) => b.energyJ - a.energyJ || a.i - b.i)
    .map((d, i) => ({ run, device: d.device, rank: i + 1, energyJ: d.energyJ }));
  return ranked;
}

/** Number of equal blocks to split `n` items into so that there are at most `max` blocks. */
function blockSize(n: number, max: number): number {
  return Math.max(1, Math.ceil(n / Math.max(1, max)));
}

/**
 * Heat-map cells of the bandwidth split β_k^t (MODEL.md §6) of one run. Devices are in
 * natural id order (index 0 = first id of `ids`); devices and rounds are grouped into at
 * most `maxDeviceBins` × `maxRoundBins` blocks. Only non-zero cells are returned; the
 * plot's background stands for zero.
 */
export function bandwidthCells(
  run: string,
  rounds: readonly RoundMetrics[],
  ids: readonly string[],
  maxDeviceBins = 40,
  maxRoundBins = 80,
): BandwidthCell[] {
  if (rounds.length === 0 || ids.length === 0) return [];
  const index = new Map(ids.map((id, i) => [id, i]));
  const devBlock = blockSize(ids.length, maxDeviceBins);
  const roundBlock = blockSize(rounds.length, maxRoundBins);
  const cells = new Map<number, BandwidthCell>();
  const deviceBins = Math.ceil(ids.length / devBlock);
  rounds.forEach((m, t) => {
    const rb = Math.floor(t / roundBlock);
    const inBlock = Math.min(roundBlock, rounds.length - rb * roundBlock);
    for (const id of Object.keys(m.bandwidth).sort()) {
      const beta = m.bandwidth[id] ?? 0;
      const k = index.get(id);
      if (k === undefined || !(beta > 0)) continue;
      const db = Math.floor(k / devBlock);
      const key = rb * deviceBins + db;
      let cell = cells.get(key);
      if (!cell) {
        const first = rounds[rb * roundBlock] as RoundMetrics;
        const lastRound = rounds[Math.min(rounds.length, (rb + 1) * roundBlock) - 1] as RoundMetrics;
        cell = {
          run,
          roundStart: first.round - 0.5,
          roundEnd: lastRound.round + 0.5,
          deviceStart: db * devBlock - 0.5,
          deviceEnd: Math.min(ids.length, (db + 1) * devBlock) - 0.5,
          share: 0,
        };
        cells.set(key, cell);
      }
      cell.share += beta / inBlock;
    }
  });
  return [...cells.keys()].sort((a, b) => a - b).map((k) => cells.get(k) as BandwidthCell);
}
