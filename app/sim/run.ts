/**
 * The simulation driver (MODEL.md §2, §9): one runtime slot per round, run in three passes
 * (actors/roundMessages.ts): A, the live medium's slot start and the scheduler's decision; the decision
 * applied on the live medium (checked before anything uses it); B, the round opened at the edge
 * server with the applied links; C, the round closed by the server at its deadline. The driver
 * only reads what the actors and the medium send it (the server's summary says who met T_max and
 * how long the round lasted) and turns it into the round's metrics. Writes the output folder of
 * INTERFACE.md; checkpoints every N rounds (atomically) so `resume` continues exactly.
 */
import { writeFileSync, readFileSync, existsSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../scenario';
import { parseScenario } from '../scenario';
import type { RoundMetrics, RunSummary } from '../metrics';
import { createRuntime, truncateEventLog, type EventLogHeader, type Runtime, type RuntimeSnapshot } from '../../runtime/system';
import type { Envelope } from '../../runtime/actor';
import { BACKEND_NAMES, resolveBackend, type BackendName } from '../../models/backend';
import type { GainTrace } from '../../channels/trace';
import type { FadingState } from '../../channels/fading';
import { createProgress, metricsCsv, writeReport } from '../report';
import type { Decided, RoundSummary } from '../../actors/roundMessages';
import { createLiveMedium, type LiveMedium } from './liveMedium';
import { planRun, type RunPlan } from './setup';
import {
  accountRound,
  closedRound,
  closeRound,
  openRound,
  roundMetrics,
  startSlot,
  type ClosedRound,
  type DrivenCell,
  type OpenRound,
} from './cellRound';
import { summarise, summaryContext } from './summary';
import { fromJson, toJson, CorruptCheckpointError } from './serialize';
import { topologyOf, resourcesOf, samePlannedActors } from './defaultTopology';
import { expandTopology } from './customTopology';
import type { ActorSpec } from '../../runtime/topology';
import { ensureWritable, headerOf, RunSetupError, workerCount, writeAtomic } from './runFolder';
import { PolicyProcess, PolicyProcessError } from '../plugins/policyProcess';
import type { PolicyQuestion } from '../../scheduler/plugins/slotPolicy';
import type { RunHosts } from '../cluster/hosts';

export interface RunOptions {
  outDir: string;
  /** Show a progress bar (quiet anyway when stdout is not a terminal). */
  progress?: boolean;
  /** Overrides scenario.runtime.workers. */
  workers?: number;
  /** The run's hosts on `airlora worker` processes through a NATS server, instead of worker threads. */
  hosts?: RunHosts;
  /** Where lines about the hosts' placement and lost hosts go (with `hosts`). */
  hostLog?: (line: string) => void;
  /** Recorded gains replacing the fading model (replay with another policy). */
  trace?: GainTrace;
  /**
   * Replay: write the log under this recorded header instead of one built from the scenario, so
   * that a log written by an earlier version (whose scenario lacked fields added since) can still
   * match hash for hash when the events are the same.
   */
  recordedHeader?: EventLogHeader;
  /**
   * The tfjs backend (default: the fastest here). Replay passes the recorded one: another
   * backend rounds differently, so its events could not match bit for bit.
   */
  backend?: BackendName;
  /** Called with each round's row as it is written to metrics.csv (live views, benchmarks). */
  onRound?: (row: RoundMetrics) => void;
  /** Test hook: stop after this many rounds as if interrupted (a checkpoint is written). */
  stopAfterRounds?: number;
  /** Test hook: worker threads that die mid-slot (the runtime restores their actors and re-runs the slot). */
  crashWorkers?: { worker: number; slot: number; step?: number }[];
  /** Folder that a declared topology's relative module paths start from (the scenario file's); default: the working directory. */
  baseDir?: string;
  /** Called with each round's decision as the scheduler published it and the edge server's summary of the round. */
  onRoundClosed?: (round: { decided: Decided; summary: RoundSummary }) => void;
}

export interface RunResult {
  summary: RunSummary;
  rounds: RoundMetrics[];
  /** True when the run stopped early (SIGINT): a checkpoint was written and `resume` continues it. */
  interrupted: boolean;
}

/** What the driver carries between slots; saved in checkpoints beside the runtime snapshot. */
interface DriverState {
  /** Next slot to run. */
  slot: number;
  /** Virtual time at which it starts. */
  t: number;
  fading: FadingState;
  rounds: RoundMetrics[];
  /** The round in flight (decided, not yet aggregated). */
  open: OpenRound | null;
  /** Wall-clock seconds spent before this process (resumed runs). */
  wallBeforeS: number;
}

/** 2: the round in three passes, owned by the edge server (event log version 3). */
const CHECKPOINT_VERSION = 2;

interface Checkpoint {
  format: 'airlora-checkpoint';
  version: typeof CHECKPOINT_VERSION;
  scenario: Scenario;
  driver: DriverState;
  runtime: RuntimeSnapshot;
}

const CHECKPOINT_FILE = 'checkpoint.json';

/** The backend the workers will run: `preferred` (a replay's recorded one), else the scenario's `runtime.backend`, resolved here (models/backend.ts). */
function expectedBackend(scenario: Scenario, preferred?: BackendName): BackendName {
  return resolveBackend(preferred ?? scenario.runtime.backend);
}

class Driver {
  private interrupted = false;
  private readonly startWall = Date.now(); // the simulator's own cost: the only wall-clock read

  constructor(
    private readonly scenario: Scenario,
    private readonly plan: RunPlan,
    private readonly medium: LiveMedium,
    private readonly options: RunOptions,
    private state: DriverState,
    private readonly runtime: Runtime,
  ) {
    this.cell = { scenario, ids: plan.ids, medium };
  }

  /** The run's one cell, with the default topology's ids. */
  private readonly cell: DrivenCell;

  /** The round closed by the last slot, its transfers not yet accounted: accounted while the hosts run the next pass A (or before a checkpoint). */
  private closed: ClosedRound | null = null;

  /** Accounts the closed round's transfers on the live medium (`accountRound`): it becomes the open round. */
  private accountClosed(): void {
    if (!this.closed) return;
    this.state.open = accountRound(this.cell, this.closed);
    this.closed = null;
  }

  stop(): void {
    this.interrupted = true;
  }

  private wallS(): number {
    return this.state.wallBeforeS + (Date.now() - this.startWall) / 1000;
  }

  async run(): Promise<RunResult> {
    const s = this.scenario;
    const T = s.training.rounds;
    const medium = this.medium;
    const progress = createProgress({
      total: T,
      startRound: this.state.rounds.length,
      ...(this.options.progress ? {} : { stream: { isTTY: false, write: () => true } }),
    });
    const csv = join(this.options.outDir, 'metrics.csv');
    writeFileSync(csv, metricsCsv(this.state.rounds));
    while (this.state.slot <= T) {
      const slot = this.state.slot;
      const closing = slot === T;
      const t0 = this.state.t;
      const fadingBefore = this.state.fading;
      startSlot(this.runtime, this.cell, slot, t0);
      this.state.fading = medium.fadingState;
      // Pass A is where the scheduler decides: a policy process that fails there stops the run here.
      const passA = this.runtime.runSlot(slot, { t: t0 }).catch((e: unknown) => this.policyFailed(e, progress, fadingBefore));
      try {
        this.accountClosed(); // the last round's transfers, while the hosts run pass A
      } catch (err) {
        await passA.catch(() => undefined); // no pass left running behind the error
        throw err;
      }
      const control = await passA;
      const open = this.state.open;
      const wallS = this.wallS(); // the last round's, which ended with this pass
      // Passes B and C go to the hosts first: the last round's row is written while they compute.
      const round = closing ? undefined : this.runRound(slot, control.mail);
      if (round) {
        round.catch(() => undefined); // awaited below
        await new Promise<void>((posted) => setImmediate(posted));
      }
      try {
        if (open) {
          const row = roundMetrics(this.cell, open, control.mail, wallS);
          this.state.rounds.push(row);
          appendFileSync(csv, metricsCsv([row]).split('\n').slice(1).join('\n'));
          progress.update({ round: row.round + 1, accuracy: row.testAccuracy, virtualTimeS: row.virtualTimeS });
          this.options.onRound?.(row);
        }
      } catch (err) {
        await round?.catch(() => undefined); // no pass left running behind the error
        throw err;
      }
      this.state.open = null;
      this.closed = round ? await round : null;
      // After the last round's row, whether the hosts ran in this thread (all before the row) or not.
      if (this.closed) this.options.onRoundClosed?.({ decided: this.closed.decided, summary: this.closed.summary });
      if (this.closed) this.state.t = this.closed.summary.decidedT + this.closed.summary.latencyS;
      this.state.slot = slot + 1;
      const stopHere = this.options.stopAfterRounds !== undefined && slot + 1 >= this.options.stopAfterRounds && this.state.slot <= T;
      if ((this.state.slot <= T && (slot + 1) % s.runtime.checkpointEvery === 0) || this.interrupted || stopHere) await this.checkpoint();
      if ((this.interrupted || stopHere) && this.state.slot <= T) {
        progress.done();
        return this.finish(true);
      }
    }
    progress.done();
    return this.finish(false);
  }

  /**
   * A policy process that failed in the slot's pass A (README "Plug-ins"): the hosts are back at
   * the last commit, so the driver goes back to the slot's start too, writes a checkpoint and the
   * summary of the rounds done, and the run stops with the error; `resume` retries that slot.
   */
  private async policyFailed(e: unknown, progress: { done(): void }, fadingBefore: FadingState): Promise<never> {
    if (e instanceof PolicyProcessError) {
      this.state.fading = fadingBefore;
      await this.checkpoint();
      progress.done();
      await this.finish(true);
      console.error(
        `stopped after round ${this.state.rounds.length}; fix the policy, then continue with: airlora resume ${this.options.outDir}`,
      );
    }
    throw e;
  }

  /**
   * Passes B and C of round `slot`: the scheduler's decision applied on the live medium (a bad one
   * stops the run here, before any actor sees it), the round opened at the edge server with the
   * applied links, then closed by it at the deadline (the transfers it reports are accounted later: `accountClosed`).
   */
  private async runRound(slot: number, mail: readonly Envelope[]): Promise<ClosedRound> {
    const decided = openRound(this.runtime, this.cell, slot, mail);
    const closed = await this.runtime.runSlot(slot, {
      t: decided.decidedT,
      pass: true,
      then: { t: decided.decidedT + this.scenario.training.deadlineS, sends: [closeRound(this.cell, slot, decided)] },
    });
    return closedRound(this.cell, slot, decided, closed.mail);
  }

  private async checkpoint(): Promise<void> {
    this.accountClosed(); // the driver's state saved holds accounted rounds only
    const snapshot = await this.runtime.snapshot();
    const cp: Checkpoint = {
      format: 'airlora-checkpoint',
      version: CHECKPOINT_VERSION,
      scenario: this.scenario,
      driver: { ...this.state, wallBeforeS: this.wallS() },
      runtime: snapshot,
    };
    writeAtomic(join(this.options.outDir, 'checkpoints', CHECKPOINT_FILE), toJson(cp));
  }

  private async finish(interrupted: boolean): Promise<RunResult> {
    this.medium.close();
    const logHash = this.runtime.logHash;
    // Closed first, so that the counters include the hosts' commit of the last slot; an error there
    // (the hosts could not commit it: its lines are written) comes after the summary and report.
    const closing = await this.runtime.close().then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    const stats = this.runtime.stats();
    const summary = summarise(
      this.state.rounds,
      summaryContext(this.scenario, {
        logHash,
        backend: expectedBackend(this.scenario, this.options.backend),
        costProfile: this.plan.costs.profile,
        wallS: this.wallS(),
      }),
    );
    writeAtomic(
      join(this.options.outDir, 'summary.json'),
      `${JSON.stringify({ ...summary, interrupted, runtime: stats, checkpoint: interrupted ? join(this.options.outDir, 'checkpoints', CHECKPOINT_FILE) : undefined }, null, 2)}\n`,
    );
    if (this.state.rounds.length > 0) await writeReport(this.options.outDir, [{ summary, rounds: this.state.rounds }]);
    if (closing) throw closing.err;
    return { summary, rounds: this.state.rounds, interrupted };
  }
}

/**
 * The actors a run runs: the planned topology (MODEL.md §1), or the scenario's declared one with
 * driver 'simulation' (what `airlora topology` prints). The log's header records the scenario
 * without its declaration when the declared actors are the planned ones: the same run, the same log.
 */
function actorsOf(scenario: Scenario, plan: RunPlan, baseDir: string): { topology: ActorSpec[]; headerScenario: Scenario } {
  const planned = topologyOf(plan);
  const declared = scenario.topology;
  if (!declared) return { topology: planned, headerScenario: scenario };
  if (declared.driver !== 'simulation')
    throw new RunSetupError(
      `${scenario.name}: a topology with driver '${declared.driver ?? 'clock'}' runs on the slot clock alone (runTopologyToFolder), not in the built-in simulation`,
    );
  const topology = expandTopology(scenario, baseDir);
  if (!samePlannedActors(topology, planned)) return { topology, headerScenario: scenario };
  const { topology: _same, ...headerScenario } = scenario;
  return { topology, headerScenario };
}

async function startRuntime(
  scenario: Scenario,
  plan: RunPlan,
  outDir: string,
  options: RunOptions,
  restore?: { snapshot: RuntimeSnapshot; log: { hash: string; header: EventLogHeader } },
  policy?: PolicyProcess,
): Promise<Runtime> {
  const { topology, headerScenario } = actorsOf(scenario, plan, options.baseDir ?? process.cwd());
  // Hosts on NATS workers: the transport is opened here and closed with the runtime (or here, if the runtime does not start).
  const transport = options.hosts
    ? await (await import('../cluster/hosts')).natsHostTransport(options.hosts, scenario.runtime.hostTimeoutS, options.hostLog)
    : undefined;
  return createRuntime({
    ...(policy ? { answer: (ask) => policy.decide(ask.question as PolicyQuestion) } : {}),
    seed: scenario.seed,
    workers: options.hosts ? options.hosts.count : workerCount(scenario, options.workers),
    ...(transport ? { transport } : {}),
    topology,
    resources: resourcesOf(plan, expectedBackend(scenario, options.backend)),
    log: restore
      ? { path: join(outDir, 'events.jsonl'), header: restore.log.header, continueFrom: { hash: restore.log.hash } }
      : {
          path: join(outDir, 'events.jsonl'),
          header: options.recordedHeader ?? headerOf(headerScenario, expectedBackend(scenario, options.backend), options.trace),
        },
    ...(restore ? { restore: restore.snapshot } : {}),
  }).catch(async (err: unknown) => {
    await transport?.close().catch(() => undefined);
    throw err;
  });
}

/** Runs `scenario` into `options.outDir` (INTERFACE.md output folder). SIGINT stops cleanly after the slot in flight. */
export async function runToFolder(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  if (scenario.cells)
    throw new RunSetupError(
      `${scenario.name}: a multi-cell scenario (cells) runs with runCellsToFolder (app/sim/cells.ts; the library's runCells, or airlora run)`,
    );
  ensureWritable(options.outDir);
  writeFileSync(join(options.outDir, 'scenario.json'), `${JSON.stringify(scenario, null, 2)}\n`);
  const plan = planRun(scenario);
  return withPolicyProcess(scenario, options.outDir, async (policy) => {
    // The medium first: a fading module that does not load is exit 2 before any worker starts.
    const medium = createLiveMedium(scenario, undefined, options.trace);
    const runtime = await startRuntime(scenario, plan, options.outDir, options, undefined, policy);
    for (const c of options.crashWorkers ?? []) runtime.injectWorkerCrash(c.worker, { slot: c.slot, step: c.step ?? 0 });
    const driver = new Driver(
      scenario,
      plan,
      medium,
      options,
      { slot: 0, t: 0, fading: medium.fadingState, rounds: [], open: null, wallBeforeS: 0 },
      runtime,
    );
    return withSigint(driver, options.outDir);
  });
}

/** Runs `body` with the scenario's policy process started (when its policy is one), and stops the process after it. */
async function withPolicyProcess<T>(scenario: Scenario, outDir: string, body: (policy?: PolicyProcess) => Promise<T>): Promise<T> {
  const spec = scenario.scheduler.policy;
  const policy = typeof spec === 'object' && 'command' in spec ? new PolicyProcess(spec, outDir) : undefined;
  try {
    return await body(policy);
  } finally {
    await policy?.close();
  }
}

async function withSigint(driver: Driver, outDir: string): Promise<RunResult> {
  const onSigint = () => driver.stop();
  process.on('SIGINT', onSigint);
  try {
    const result = await driver.run();
    if (result.interrupted) console.error(`stopped after round ${result.summary.rounds}; continue with: airlora resume ${outDir}`);
    return result;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Reads and checks a run folder's checkpoint. */
export function readCheckpoint(dir: string): Checkpoint {
  const file = join(dir, 'checkpoints', CHECKPOINT_FILE);
  if (!existsSync(file)) throw new RunSetupError(`${dir}: no checkpoint to resume from (${file} is missing)`);
  let cp: Checkpoint;
  try {
    cp = fromJson<Checkpoint>(readFileSync(file, 'utf8'), file);
  } catch (e) {
    throw new RunSetupError(e instanceof CorruptCheckpointError ? e.message : `${file}: ${(e as Error).message}`, { cause: e });
  }
  if (cp?.format !== 'airlora-checkpoint') throw new RunSetupError(`${file}: not an airlora checkpoint`);
  if (cp.version !== CHECKPOINT_VERSION)
    throw new RunSetupError(
      `${file}: a checkpoint of version ${JSON.stringify(cp.version)} (this release resumes version ${CHECKPOINT_VERSION}); resume it with the release that wrote it`,
    );
  if (!cp.driver || !cp.runtime || !Array.isArray(cp.driver.rounds))
    throw new RunSetupError(`${file}: incomplete checkpoint (driver or runtime state missing)`);
  try {
    cp.scenario = parseScenario(cp.scenario, `${file} (scenario)`);
  } catch (e) {
    throw new RunSetupError(`checkpoint ${(e as Error).message}`, { cause: e });
  }
  return cp;
}

/** `airlora resume DIR`: continues from the last checkpoint; the result equals an uninterrupted run's. */
export async function resumeFolder(dir: string, options: Omit<RunOptions, 'outDir'> = {}): Promise<RunResult> {
  const cp = readCheckpoint(dir);
  ensureWritable(dir);
  const log = truncateEventLog(join(dir, 'events.jsonl'), cp.runtime.seq);
  const plan = planRun(cp.scenario);
  // The rest of the run on the backend its first part ran on.
  const recorded = BACKEND_NAMES.find((name) => name === log.header.backend);
  const runOptions = { ...options, outDir: dir, ...(recorded && !options.backend ? { backend: recorded } : {}) };
  return withPolicyProcess(cp.scenario, dir, async (policy) => {
    const medium = createLiveMedium(cp.scenario, cp.driver.fading, options.trace);
    const runtime = await startRuntime(cp.scenario, plan, dir, runOptions, { snapshot: cp.runtime, log }, policy);
    const driver = new Driver(cp.scenario, plan, medium, runOptions, cp.driver, runtime);
    return withSigint(driver, dir);
  });
}

export type { Checkpoint, DriverState };
export { RunSetupError };
