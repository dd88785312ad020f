/**
 * The simulation driver (MODEL.md §2, §9): one runtime slot per round, the medium's link state
 * injected at each slot start, the driver's mail turned into the round's metrics. Writes the output
 * folder of INTERFACE.md; checkpoints every N rounds (atomically) so `resume` continues exactly.
 */
import { writeFileSync, readFileSync, existsSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../scenario';
import { parseScenario } from '../scenario';
import type { BitsByType, RoundMetrics, RunSummary } from '../metrics';
import { createRuntime, truncateEventLog, type EventLogHeader, type Runtime, type RuntimeSnapshot } from '../system';
import type { Envelope } from '../actor';
import { availableBackends, type BackendName } from '../../models/backend';
import type { GainTrace } from '../../channels/trace';
import type { FadingState } from '../../channels/fading';
import { createProgress, metricsCsv, writeReport } from '../report';
import type { Decision } from '../../scheduler/instance';
import type { QueueUpdate, RoundReport, RoundSummary, Evaluation, SlotStart } from '../../actors/protocol';
import { SCHEDULER_ID, SERVER_ID, deviceId } from '../../actors/params';
import { REPORT_WINDOW_S } from '../../actors/scheduler';
import { createSlotMedium, type SlotMedium } from './medium';
import { validateDecision } from '../../channels/slices';
import { planRun, type RunPlan } from './setup';
import { roundWeight } from '../../scheduler/penalty';
import { summarise } from './summary';
import { fromJson, toJson, CorruptCheckpointError } from './serialize';
import { topologyOf, resourcesOf } from './topology';
import { ensureWritable, headerOf, RunSetupError, workerCount, writeAtomic } from './outputs';
import { PolicyProcess, PolicyProcessError } from '../plugins/policyProcess';
import { policyLabel } from '../plugins/policySpec';
import type { PolicyQuestion } from '../../scheduler/plugins/slotPolicy';

export interface RunOptions {
  outDir: string;
  /** Show a progress bar (quiet anyway when stdout is not a terminal). */
  progress?: boolean;
  /** Overrides scenario.runtime.workers. */
  workers?: number;
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

interface OpenRound {
  slot: number;
  decisionT: number;
  decision: Decision;
  queuesBefore: number[];
  reports: RoundReport[];
  latencyS: number;
}

interface Checkpoint {
  format: 'airlora-checkpoint';
  version: 1;
  scenario: Scenario;
  driver: DriverState;
  runtime: RuntimeSnapshot;
}

const CHECKPOINT_FILE = 'checkpoint.json';

/** The backend the workers will pick (the first that loads: tfjs-node, else wasm, else cpu). */
/** The backend the workers will run: `preferred` when it loads here, else the fastest (models/backend.ts's order). */
function expectedBackend(preferred?: BackendName): BackendName {
  const available = availableBackends();
  return preferred && available.includes(preferred) ? preferred : (available[0] ?? 'cpu');
}

function sumBits(reports: readonly RoundReport[]): BitsByType {
  const bits: BitsByType = { activations: 0, features: 0, gradients: 0, heads: 0 };
  for (const r of reports) for (const k of Object.keys(bits) as (keyof BitsByType)[]) bits[k] += r.bits[k];
  return bits;
}

/** Latency of a round (MODEL.md §4): the last admitted device's finish, or T_max if one never delivers in time. */
function roundLatencyS(decision: Decision, reports: readonly RoundReport[], decisionT: number, deadlineS: number): number {
  if (decision.admitted.length === 0) return 0;
  let last = 0;
  for (const id of decision.admitted) {
    const r = reports.find((x) => x.device === id);
    if (!r || r.finishT - decisionT > deadlineS + 1e-9) return deadlineS;
    last = Math.max(last, r.finishT - decisionT);
  }
  return last;
}

function mailOf<T>(mail: readonly Envelope[], type: string): T[] {
  return mail.filter((m) => m.type === type).map((m) => m.body as T);
}

class Driver {
  private interrupted = false;
  private readonly startWall = Date.now(); // the simulator's own cost: the only wall-clock read

  constructor(
    private readonly scenario: Scenario,
    private readonly plan: RunPlan,
    private readonly medium: SlotMedium,
    private readonly options: RunOptions,
    private state: DriverState,
    private readonly runtime: Runtime,
  ) {}

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
    const progress = createProgress({ total: T, startRound: this.state.rounds.length, ...(this.options.progress ? {} : { stream: { isTTY: false, write: () => true } }) });
    const csv = join(this.options.outDir, 'metrics.csv');
    writeFileSync(csv, metricsCsv(this.state.rounds));
    while (this.state.slot <= T) {
      const slot = this.state.slot;
      const closing = slot === T;
      const t0 = this.state.t;
      let starts: SlotStart[];
      const fadingBefore = this.state.fading;
      if (closing) starts = Array.from({ length: s.devices.count }, () => ({ slot, gain: 0, reachable: false, dropout: false, closing: true }));
      else {
        const next = medium.slot(this.state.fading, slot);
        this.state.fading = next.state;
        starts = next.starts;
      }
      starts.forEach((start, k) => this.runtime.send(deviceId(k), 'slot-start', start, t0));
      if (!closing) this.runtime.send(SCHEDULER_ID, 'decide', { slot, weight: roundWeight(s.scheduler.roundWeightBase, slot, T) }, t0);
      const open = this.state.open;
      if (open) this.runtime.send(SERVER_ID, 'aggregate', { slot: open.slot, deadlineT: open.decisionT + s.training.deadlineS, roundStartT: open.decisionT }, t0);
      const result = await this.runtime.runSlot(slot, { t: t0 }).catch((e: unknown) => this.policyFailed(e, progress, fadingBefore));
      const mail = result.mail;
      if (open) {
        const row = this.closeRound(open, mail);
        this.state.rounds.push(row);
        appendFileSync(csv, metricsCsv([row]).split('\n').slice(1).join('\n'));
        progress.update({ round: row.round + 1, accuracy: row.testAccuracy, virtualTimeS: row.virtualTimeS });
        this.options.onRound?.(row);
      }
      if (!closing) {
        const decided = mailOf<{ slot: number; decision: Decision; queues: number[] }>(mail, 'decision')[0];
        if (!decided) throw new Error(`slot ${slot}: the scheduler published no decision`);
        // The medium enforces Σβ ≤ 1 and β = 0 outside S_t: a decision that breaks it stops the run (MODEL.md §3).
        validateDecision({ slot, admitted: decided.decision.admitted, bandwidth: decided.decision.bandwidth }, s.devices.count);
        const decisionT = t0 + REPORT_WINDOW_S;
        const reports = mailOf<RoundReport>(mail, 'round-report');
        const latencyS = roundLatencyS(decided.decision, reports, decisionT, s.training.deadlineS);
        this.state.open = { slot, decisionT, decision: decided.decision, queuesBefore: decided.queues, reports, latencyS };
        this.state.t = decisionT + latencyS;
      } else this.state.open = null;
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
   * A policy process that failed in the slot just run (README "Plug-ins"): the hosts are back at
   * the last commit, so the driver goes back to the slot's start too, writes a checkpoint and the
   * summary of the rounds done, and the run stops with the error; `resume` retries that slot.
   */
  private async policyFailed(e: unknown, progress: { done(): void }, fadingBefore: FadingState): Promise<never> {
    if (e instanceof PolicyProcessError) {
      this.state.fading = fadingBefore;
      await this.checkpoint();
      progress.done();
      await this.finish(true);
      console.error(`stopped after round ${this.state.rounds.length}; fix the policy, then continue with: airlora resume ${this.options.outDir}`);
    }
    throw e;
  }

  /** Completes round `open.slot` from the mail of the slot after it. */
  private closeRound(open: OpenRound, mail: readonly Envelope[]): RoundMetrics {
    const summary = mailOf<RoundSummary>(mail, 'round-summary').find((m) => m.slot === open.slot);
    // Shards' counts added in shard order: the same sum whatever the worker count.
    const scores = mailOf<Evaluation>(mail, 'evaluation').filter((m) => m.slot === open.slot).sort((a, b) => a.shard - b.shard);
    const samples = scores.reduce((n, e) => n + e.samples, 0);
    const evaluation = scores.length > 0 && samples > 0 ? { accuracy: scores.reduce((n, e) => n + e.correct, 0) / samples, loss: scores.reduce((n, e) => n + e.lossSum, 0) / samples } : undefined;
    const updates = mailOf<QueueUpdate>(mail, 'queue').filter((q) => q.round === open.slot);
    if (!summary || !evaluation) throw new Error(`round ${open.slot}: no aggregation or evaluation arrived`);
    const queues = new Array<number>(this.scenario.devices.count).fill(0);
    const energyJ: Record<string, number> = {};
    for (const u of updates) {
      queues[u.index] = u.queue;
      if (u.energyJ > 0) energyJ[deviceId(u.index)] = u.energyJ;
    }
    const aggregated = new Set(summary.aggregated);
    const losses = open.reports.filter((r) => aggregated.has(r.device)).map((r) => r.meanLoss);
    return {
      round: open.slot,
      admitted: open.decision.admitted,
      bandwidth: open.decision.bandwidth,
      failures: summary.failures,
      latencyS: open.latencyS,
      energyJ,
      queues,
      penalty: open.decision.penalty,
      bits: sumBits(open.reports),
      trainLoss: losses.length > 0 ? losses.reduce((a, b) => a + b, 0) / losses.length : Number.NaN,
      testAccuracy: evaluation.accuracy,
      virtualTimeS: open.decisionT + open.latencyS,
      wallS: this.wallS(),
    };
  }

  private async checkpoint(): Promise<void> {
    const snapshot = await this.runtime.snapshot();
    const cp: Checkpoint = { format: 'airlora-checkpoint', version: 1, scenario: this.scenario, driver: { ...this.state, wallBeforeS: this.wallS() }, runtime: snapshot };
    writeAtomic(join(this.options.outDir, 'checkpoints', CHECKPOINT_FILE), toJson(cp));
  }

  private async finish(interrupted: boolean): Promise<RunResult> {
    const logHash = this.runtime.logHash;
    const stats = this.runtime.stats();
    await this.runtime.close();
    const summary = summarise(this.state.rounds, {
      scenario: this.scenario.name,
      policy: policyLabel(this.scenario.scheduler.policy),
      seed: this.scenario.seed,
      devices: this.scenario.devices.count,
      energyBudgetJ: this.scenario.devices.energyBudgetJ,
      logHash,
      backend: expectedBackend(this.options.backend),
      costProfile: this.plan.costs.profile,
      wallS: this.wallS(),
    });
    writeAtomic(join(this.options.outDir, 'summary.json'), `${JSON.stringify({ ...summary, interrupted, runtime: stats, checkpoint: interrupted ? join(this.options.outDir, 'checkpoints', CHECKPOINT_FILE) : undefined }, null, 2)}\n`);
    if (this.state.rounds.length > 0) await writeReport(this.options.outDir, [{ summary, rounds: this.state.rounds }]);
    return { summary, rounds: this.state.rounds, interrupted };
  }
}

async function startRuntime(scenario: Scenario, plan: RunPlan, outDir: string, options: RunOptions, restore?: { snapshot: RuntimeSnapshot; log: { hash: string; header: EventLogHeader } }, policy?: PolicyProcess): Promise<Runtime> {
  return createRuntime({
    ...(policy ? { answer: (ask) => policy.decide(ask.question as PolicyQuestion) } : {}),
    seed: scenario.seed,
    workers: workerCount(scenario, options.workers),
    topology: topologyOf(plan),
    resources: resourcesOf(plan, options.backend),
    log: restore
      ? { path: join(outDir, 'events.jsonl'), header: restore.log.header, continueFrom: { hash: restore.log.hash } }
      : { path: join(outDir, 'events.jsonl'), header: options.recordedHeader ?? headerOf(scenario, expectedBackend(options.backend), options.trace) },
    ...(restore ? { restore: restore.snapshot } : {}),
  });
}

/** Runs `scenario` into `options.outDir` (INTERFACE.md output folder). SIGINT stops cleanly after the slot in flight. */
export async function runToFolder(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  ensureWritable(options.outDir);
  writeFileSync(join(options.outDir, 'scenario.json'), `${JSON.stringify(scenario, null, 2)}\n`);
  const plan = planRun(scenario);
  return withPolicyProcess(scenario, options.outDir, async (policy) => {
    const runtime = await startRuntime(scenario, plan, options.outDir, options, undefined, policy);
    for (const c of options.crashWorkers ?? []) runtime.injectWorkerCrash(c.worker, { slot: c.slot, step: c.step ?? 0 });
    const medium = createSlotMedium(scenario, options.trace);
    const driver = new Driver(scenario, plan, medium, options, { slot: 0, t: 0, fading: medium.initialState(), rounds: [], open: null, wallBeforeS: 0 }, runtime);
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
  if (cp?.format !== 'airlora-checkpoint' || cp.version !== 1) throw new RunSetupError(`${file}: not an airlora checkpoint of version 1`);
  if (!cp.driver || !cp.runtime || !Array.isArray(cp.driver.rounds)) throw new RunSetupError(`${file}: incomplete checkpoint (driver or runtime state missing)`);
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
  const runOptions = { ...options, outDir: dir };
  return withPolicyProcess(cp.scenario, dir, async (policy) => {
    const runtime = await startRuntime(cp.scenario, plan, dir, runOptions, { snapshot: cp.runtime, log }, policy);
    const driver = new Driver(cp.scenario, plan, createSlotMedium(cp.scenario, options.trace), runOptions, cp.driver, runtime);
    return withSigint(driver, dir);
  });
}

export type { Checkpoint, DriverState };
export { RunSetupError };
