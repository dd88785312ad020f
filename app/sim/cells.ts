/**
 * A multi-cell system (README "Several cells"): the scenario's `cells`, each with its own geometry,
 * band, fading, devices, scheduler (its own energy queues), edge server with its shards and
 * evaluators, and live medium, under one cloud aggregator (actors/cloud.ts) that merges the edge
 * servers' models every H rounds over the backhaul (channels/backhaul.ts). Every cell runs in the
 * same runtime slot, in the passes of a single-cell run (app/sim/cellRound.ts), so one event
 * log holds the whole system and does not depend on the number of workers. Writes events.jsonl,
 * one metrics-CELL.csv per cell and summary.json (per-cell summaries and the cloud's merges).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../scenario';
import { RandomStream } from '../../util/random';
import type { RoundMetrics, RunSummary } from '../metrics';
import { createRuntime, type EventLogHeader, type Runtime } from '../../runtime/system';
import type { ActorSpec } from '../../runtime/topology';
import { resolveBackend, type BackendName } from '../../models/backend';
import type { CloudParams } from '../../actors/cloud';
import type { Merge } from '../../actors/roundMessages';
import { cellIds } from '../../actors/actorParams';
import { metricsCsv } from '../report';
import { createLiveMedium } from './liveMedium';
import { planRun, type RunPlan } from './setup';
import { resourcesOf, topologyOf } from './defaultTopology';
import { closeRound, openRound, readRound, roundMetrics, startSlot, type DrivenCell, type OpenRound } from './cellRound';
import { summarise, summaryContext } from './summary';
import { ensureWritable, headerOf, RunSetupError, workerCount, writeAtomic } from './runFolder';

/** The cloud aggregator's id in a multi-cell system. */
export const CLOUD_ID = 'cloud';

/** One cell of a system, planned: its name, its scenario (the system's with the cell's sections) and its run plan. */
export interface PlannedCell {
  name: string;
  scenario: Scenario;
  plan: RunPlan;
}

export interface CellsPlan {
  cells: PlannedCell[];
  /** Every actor of the system: each cell's, then the cloud. */
  actors: ActorSpec[];
  /** The per-worker resources: one data set split among every device of the system. */
  resources: RunPlan;
}

/**
 * The scenario of each cell: the system's, with the sections the cell gives replacing the
 * system's whole, and a seed of its own (forked from the system's by the cell's name).
 */
export function cellScenarios(scenario: Scenario): Scenario[] {
  const root = RandomStream.fromSeed(scenario.seed).fork('cells');
  return (scenario.cells ?? []).map((c) => {
    const { cells: _cells, cloud: _cloud, ...system } = scenario;
    return {
      ...system,
      name: `${scenario.name}/${c.name}`,
      seed: root.fork(c.name).nextUint32(),
      cell: c.cell ?? scenario.cell,
      channel: c.channel ?? scenario.channel,
      devices: c.devices ?? scenario.devices,
      server: c.server ?? scenario.server,
      scheduler: c.scheduler ?? scenario.scheduler,
      faults: c.faults ?? scenario.faults,
    };
  });
}

/** Plans a multi-cell system: each cell's actors under its name's prefix, the data shared out, one initial model, the cloud. */
export function planCells(scenario: Scenario): CellsPlan {
  const cloud = scenario.cloud;
  if (!scenario.cells || !cloud) throw new RunSetupError(`${scenario.name}: not a multi-cell scenario (cells and cloud are needed)`);
  const modelSeed = RandomStream.fromSeed(scenario.seed).fork('model').nextUint32();
  const link = { id: CLOUD_ID, everyRounds: cloud.everyRounds, backhaul: cloud.backhaul, bitsPerElement: scenario.model.bitsPerElement };
  let firstDevice = 0;
  const cells = cellScenarios(scenario).map((cellScenario, i): PlannedCell => {
    const name = (scenario.cells?.[i] as { name: string }).name;
    const plan = planRun(cellScenario, { ids: cellIds(`${name}.`), firstDevice, server: { modelSeed, cloud: link } });
    firstDevice += cellScenario.devices.count;
    return { name, scenario: cellScenario, plan };
  });
  const first = (cells[0] as PlannedCell).plan;
  const aggregation = scenario.training.aggregation === 'fedavg-product' ? 'fedavg-product' : 'fedavg';
  const cloudParams: CloudParams = {
    servers: cells.map((c) => c.plan.ids.server),
    backhaul: cloud.backhaul,
    bitsPerElement: scenario.model.bitsPerElement,
    aggregation,
    loraRank: scenario.model.loraRank,
  };
  const actors = topologyOf({ actors: [...cells.flatMap((c) => c.plan.actors), { id: CLOUD_ID, kind: 'cloud', params: cloudParams }] });
  const resources: RunPlan = { ...first, resourceArgs: { ...first.resourceArgs, seed: scenario.seed, deviceCount: firstDevice } };
  return { cells, actors, resources };
}

export interface CellsRunOptions {
  outDir: string;
  workers?: number;
  /** Replay: the recorded header, written as it is. */
  recordedHeader?: EventLogHeader;
  /** The tfjs backend (default: the scenario's); replay passes the recorded one. */
  backend?: BackendName;
}

/** One cell's result: its summary and rounds (MODEL.md §9). */
export interface CellResult {
  summary: RunSummary;
  rounds: RoundMetrics[];
}

export interface CellsRunResult {
  cells: Record<string, CellResult>;
  /** The cloud's merges, in order. */
  merges: Merge[];
  logHash: string;
  wallS: number;
}

/** The cloud's merge after round `slot`, if it merged then. */
function mergeOf(mail: readonly { from: string; type: string; body: unknown }[], slot: number): Merge | undefined {
  return mail
    .filter((m) => m.from === CLOUD_ID && m.type === 'merge')
    .map((m) => m.body as Merge)
    .find((m) => m.round === slot);
}

/** Drives every cell of the system, round by round, in one runtime; returns each cell's rounds and the merges. */
async function driveCells(
  runtime: Runtime,
  cells: readonly DrivenCell[],
  rounds: number,
  wallS: () => number,
): Promise<{ rounds: RoundMetrics[][]; merges: Merge[] }> {
  const rows: RoundMetrics[][] = cells.map(() => []);
  const merges: Merge[] = [];
  let open: OpenRound[] = [];
  let t = 0;
  for (let slot = 0; slot <= rounds; slot++) {
    for (const cell of cells) startSlot(runtime, cell, slot, t);
    const control = await runtime.runSlot(slot, { t });
    open.forEach((round, i) => rows[i]?.push(roundMetrics(cells[i] as DrivenCell, round, control.mail, wallS())));
    if (slot === rounds) break;
    const decided = cells.map((cell) => openRound(runtime, cell, slot, control.mail));
    const decidedT = Math.max(...decided.map((d) => d.decidedT));
    // Pass B, then pass C (each cell's deadline) in the same call once pass B settles.
    const closed = await runtime.runSlot(slot, {
      t: decidedT,
      pass: true,
      then: {
        t: decidedT + (cells[0] as DrivenCell).scenario.training.deadlineS,
        sends: cells.map((cell, i) => closeRound(cell, slot, decided[i] as (typeof decided)[number])),
      },
    });
    open = cells.map((cell, i) => readRound(cell, slot, decided[i] as (typeof decided)[number], closed.mail));
    const merge = mergeOf(closed.mail, slot);
    if (merge) merges.push(merge);
    // The next round starts when every cell's round ended and, after a merge, the merged model is back.
    t = Math.max(...open.map((r) => r.summary.decidedT + r.summary.latencyS), ...(merge ? merge.cells.map((c) => c.downT) : []));
  }
  return { rounds: rows, merges };
}

/** Runs the multi-cell `scenario` into `options.outDir`. */
export async function runCellsToFolder(scenario: Scenario, options: CellsRunOptions): Promise<CellsRunResult> {
  const started = Date.now(); // the simulator's own cost: the only wall-clock read
  const wallS = () => (Date.now() - started) / 1000;
  ensureWritable(options.outDir);
  writeFileSync(join(options.outDir, 'scenario.json'), `${JSON.stringify(scenario, null, 2)}\n`);
  const plan = planCells(scenario);
  for (const c of plan.cells) {
    const policy = c.scenario.scheduler.policy;
    if (typeof policy === 'object' && 'command' in policy)
      throw new RunSetupError(
        `${scenario.name}: cell ${c.name}: a policy process ({ "command": … }) is not supported in a multi-cell system; use a built-in policy or a module`,
      );
  }
  const backend = resolveBackend(options.backend ?? scenario.runtime.backend);
  const cells: DrivenCell[] = plan.cells.map((c) => ({ scenario: c.scenario, ids: c.plan.ids, medium: createLiveMedium(c.scenario) }));
  const runtime = await createRuntime({
    seed: scenario.seed,
    workers: workerCount(scenario, options.workers),
    topology: plan.actors,
    resources: resourcesOf(plan.resources, backend),
    log: { path: join(options.outDir, 'events.jsonl'), header: options.recordedHeader ?? headerOf(scenario, backend) },
  });
  let driven: { rounds: RoundMetrics[][]; merges: Merge[] };
  try {
    driven = await driveCells(runtime, cells, scenario.training.rounds, wallS);
  } finally {
    for (const c of cells) c.medium.close();
    await runtime.close();
  }
  const stats = runtime.stats(); // after close: the counters include the hosts' commit of the last slot
  const logHash = runtime.logHash;
  const results: Record<string, CellResult> = {};
  plan.cells.forEach((c, i) => {
    const rounds = driven.rounds[i] ?? [];
    writeFileSync(join(options.outDir, `metrics-${c.name}.csv`), metricsCsv(rounds));
    const summary = summarise(rounds, summaryContext(c.scenario, { logHash, backend, costProfile: c.plan.costs.profile, wallS: wallS() }));
    results[c.name] = { summary, rounds };
  });
  const result: CellsRunResult = { cells: results, merges: driven.merges, logHash, wallS: wallS() };
  const cellSummaries = Object.fromEntries(Object.entries(results).map(([name, r]) => [name, r.summary]));
  writeAtomic(
    join(options.outDir, 'summary.json'),
    `${JSON.stringify({ scenario: scenario.name, seed: scenario.seed, rounds: scenario.training.rounds, logHash, backend, wallS: result.wallS, cells: cellSummaries, cloud: { ...scenario.cloud, merges: driven.merges }, runtime: stats }, null, 2)}\n`,
  );
  return result;
}
