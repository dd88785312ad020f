/**
 * The `airlora` command line (INTERFACE.md). Exit status: 0 success; 1 the run failed or a replay
 * found a mismatch; 2 bad usage or bad input, with a message naming the file, the field and the rule.
 */
import { dirname, resolve } from 'node:path';
import { intOption, listOption, parseArgs, stringOption, UsageError, type ParsedArgs } from './args';
import { applyOverride, loadScenario, parseScenario, POLICY_NAMES, ScenarioError, type PolicyName, type Scenario } from './scenario';
import { readFileSync } from 'node:fs';

const HELP = `airlora: split federated LoRA fine-tuning over a wireless cell

  airlora run [SCENARIO] [--out DIR] [--seed N] [--workers N] [--rounds N] [--policy NAME] [--set path=value ...]
  airlora compare SCENARIO --policies a,b,c [--out DIR] [--workers N] [--rounds N] [--set path=value ...]
  airlora replay LOG [--policy NAME] [--out DIR] [--workers N]
  airlora resume DIR [--workers N]
  airlora validate SCENARIO
  airlora topology [SCENARIO] [--seed N] [--rounds N] [--policy NAME] [--set path=value ...]
  airlora solve-slot INSTANCE
  airlora log LOG [--slot N] [--actor ID] [--type T]

Without SCENARIO, run uses the built-in scenarios/cell-50.json. Policies: ${POLICY_NAMES.join(', ')}.`;

/** The built-in default scenario of MODEL.md §8. */
export const DEFAULT_SCENARIO = resolve(__dirname, '..', '..', 'scenarios', 'cell-50.json');

const RUN_OPTIONS = { out: { value: true }, seed: { value: true }, workers: { value: true }, rounds: { value: true }, policy: { value: true }, set: { value: true, repeat: true }, quiet: { value: false } } as const;

function policyOption(args: ParsedArgs, command: string): PolicyName | undefined {
  const p = stringOption(args, 'policy');
  if (p === undefined) return undefined;
  if (!(POLICY_NAMES as readonly string[]).includes(p)) throw new UsageError(`${command}: unknown policy '${p}' (known: ${POLICY_NAMES.join(', ')})`);
  return p as PolicyName;
}

/** Loads SCENARIO (or the default), applies --set, --seed, --rounds, --policy, --workers, and validates. */
export function scenarioFromArgs(args: ParsedArgs, command: string): { scenario: Scenario; file: string } {
  const file = args.positional[0] ?? DEFAULT_SCENARIO;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    loadScenario(file); // throws the ScenarioError that names the file and the problem
  }
  for (const assignment of listOption(args, 'set')) raw = applyOverride(raw, assignment);
  const seed = intOption(args, 'seed', command);
  const rounds = intOption(args, 'rounds', command, 1);
  const policy = policyOption(args, command);
  if (seed !== undefined) raw = applyOverride(raw, `seed=${seed}`);
  if (rounds !== undefined) raw = applyOverride(raw, `training.rounds=${rounds}`);
  if (policy !== undefined) raw = applyOverride(raw, `scheduler.policy="${policy}"`);
  return { scenario: parseScenario(raw, file), file };
}

async function commandRun(argv: string[]): Promise<number> {
  const args = parseArgs(argv, RUN_OPTIONS, 'run');
  if (args.positional.length > 1) throw new UsageError(`run: expected at most one SCENARIO, got ${args.positional.join(' ')}`);
  const { scenario, file } = scenarioFromArgs(args, 'run');
  if (scenario.topology && scenario.topology.driver !== 'simulation') {
    const out = resolve(stringOption(args, 'out') ?? `runs/${scenario.name}-seed${scenario.seed}`);
    const { runTopologyToFolder } = await import('./sim/customTopology');
    const r = await runTopologyToFolder(scenario, { outDir: out, workers: intOption(args, 'workers', 'run'), baseDir: dirname(file) });
    console.log(`${r.slots} slots of the declared topology, ${r.events} events, log hash ${r.logHash.slice(0, 16)}…; written to ${out}`);
    return 0;
  }
  const out = resolve(stringOption(args, 'out') ?? `runs/${scenario.name}-${scenario.scheduler.policy}-seed${scenario.seed}`);
  const { runToFolder } = await import('./sim/run');
  const result = await runToFolder(scenario, { outDir: out, progress: !args.options['quiet'], workers: intOption(args, 'workers', 'run'), baseDir: dirname(file) });
  console.log(`${result.summary.rounds} rounds, final accuracy ${(100 * result.summary.finalAccuracy).toFixed(1)}%, ${result.summary.wallS.toFixed(1)} s wall; report: ${resolve(out, 'report.html')}`);
  return result.interrupted ? 130 : 0;
}

async function commandCompare(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { ...RUN_OPTIONS, policies: { value: true } }, 'compare');
  if (args.positional.length !== 1) throw new UsageError('compare: expected one SCENARIO');
  const names = (stringOption(args, 'policies') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError('compare: --policies a,b,c is required');
  for (const n of names) if (!(POLICY_NAMES as readonly string[]).includes(n)) throw new UsageError(`compare: unknown policy '${n}' (known: ${POLICY_NAMES.join(', ')})`);
  const { scenario } = scenarioFromArgs(args, 'compare');
  const out = resolve(stringOption(args, 'out') ?? `runs/${scenario.name}-compare-seed${scenario.seed}`);
  const { compareToFolder } = await import('./sim/compare');
  const summaries = await compareToFolder(scenario, names as PolicyName[], { outDir: out, progress: !args.options['quiet'], workers: intOption(args, 'workers', 'compare') });
  for (const s of summaries)
    console.log(`${s.policy.padEnd(14)} accuracy ${(100 * s.finalAccuracy).toFixed(1)}%  admitted ${s.meanAdmitted.toFixed(2)}  energy ${s.meanEnergyJPerDevice.toFixed(4)} J (max ${s.maxEnergyJPerDevice.toFixed(4)}, budget ${s.energyBudgetJ})  over budget ${s.devicesOverBudget}`);
  console.log(`report: ${resolve(out, 'report.html')}`);
  return 0;
}

async function commandReplay(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { policy: { value: true }, out: { value: true }, workers: { value: true }, quiet: { value: false } }, 'replay');
  if (args.positional.length !== 1) throw new UsageError('replay: expected one LOG');
  const { replayLog } = await import('./sim/replay');
  const result = await replayLog(args.positional[0] as string, { policy: policyOption(args, 'replay'), outDir: stringOption(args, 'out'), workers: intOption(args, 'workers', 'replay'), progress: !args.options['quiet'] });
  console.log(result.message);
  return result.ok ? 0 : 1;
}

async function commandResume(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { workers: { value: true }, quiet: { value: false } }, 'resume');
  if (args.positional.length !== 1) throw new UsageError('resume: expected one DIR');
  const { resumeFolder } = await import('./sim/run');
  const result = await resumeFolder(resolve(args.positional[0] as string), { workers: intOption(args, 'workers', 'resume'), progress: !args.options['quiet'] });
  console.log(`${result.summary.rounds} rounds, final accuracy ${(100 * result.summary.finalAccuracy).toFixed(1)}%; report: ${resolve(args.positional[0] as string, 'report.html')}`);
  return result.interrupted ? 130 : 0;
}

/** `airlora topology SCENARIO`: the scenario with the actors it runs declared in its own `topology` format, on stdout (README "The built-in simulation as a topology"). */
async function commandTopology(argv: string[]): Promise<number> {
  const args = parseArgs(argv, RUN_OPTIONS, 'topology');
  if (args.positional.length > 1) throw new UsageError(`topology: expected at most one SCENARIO, got ${args.positional.join(' ')}`);
  const { scenario } = scenarioFromArgs(args, 'topology');
  const { planRun } = await import('./sim/setup');
  const { declaredTopologyOf } = await import('./sim/topology');
  const declared = scenario.topology ?? declaredTopologyOf(planRun(scenario));
  console.log(JSON.stringify({ ...scenario, topology: declared }, null, 2));
  return 0;
}

function commandValidate(argv: string[]): number {
  const args = parseArgs(argv, {}, 'validate');
  if (args.positional.length !== 1) throw new UsageError('validate: expected one SCENARIO');
  const file = args.positional[0] as string;
  try {
    const s = loadScenario(file);
    const what = s.topology
      ? `${s.topology.actors.reduce((n, a) => n + a.count, 0)} actors declared, ${s.training.rounds} slots`
      : `${s.devices.count} devices, ${s.training.rounds} rounds, policy ${s.scheduler.policy}`;
    console.log(`${file}: valid (${what})`);
    return 0;
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    console.error(`${file}: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}`);
    for (const p of e.problems) console.error(`  ${p.field || '(file)'}: ${p.rule}`);
    return 2;
  }
}

async function commandSolveSlot(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, 'solve-slot');
  if (args.positional.length !== 1) throw new UsageError('solve-slot: expected one INSTANCE');
  const { solveSlotFile } = await import('../scheduler');
  const { exitCode, output } = solveSlotFile(args.positional[0] as string);
  (exitCode === 0 ? console.log : console.error)(output);
  return exitCode;
}

async function commandLog(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { slot: { value: true }, actor: { value: true }, type: { value: true } }, 'log');
  if (args.positional.length !== 1) throw new UsageError('log: expected one LOG');
  const { printLog } = await import('./sim/logView');
  return printLog(args.positional[0] as string, { slot: intOption(args, 'slot', 'log'), actor: stringOption(args, 'actor'), type: stringOption(args, 'type') });
}

/** Runs the command line; resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await commandRun(rest);
      case 'compare':
        return await commandCompare(rest);
      case 'replay':
        return await commandReplay(rest);
      case 'resume':
        return await commandResume(rest);
      case 'validate':
        return commandValidate(rest);
      case 'topology':
        return await commandTopology(rest);
      case 'solve-slot':
        return await commandSolveSlot(rest);
      case 'log':
        return await commandLog(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'\n${HELP}`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof ScenarioError || (e instanceof Error && e.name.endsWith('Error') && (e as { exitCode?: number }).exitCode === 2)) {
      console.error(`airlora: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
