/**
 * The `airlora` command line (INTERFACE.md), on commander: subcommands, help and option errors
 * come from the library. Exit status: 0 success; 1 the run failed or a replay found a mismatch;
 * 2 bad usage or bad input, with a message naming the file, the field and the rule.
 */
import { dirname, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { collect, commaList, integerAtLeast, UsageError } from './args';
import {
  addClusterCommands,
  clusterExecution,
  runHostsOf,
  withClusterStudyOptions,
  withRunHostsOptions,
  type ClusterStudyOptions,
  type RunHostsOptions,
} from './cluster/clusterCommands';
import { applyOverride, loadScenario, parseScenario, POLICY_NAMES, ScenarioError, type PolicySpec, type Scenario } from './scenario';
import { looksLikeModule, policyFromArgument, policyLabel } from './plugins/policySpec';

/** The built-in default scenario of MODEL.md §8. */
export const DEFAULT_SCENARIO = resolve(__dirname, '..', '..', 'scenarios', 'cell-50.json');

/** Options shared by the commands that build a scenario (`run`, `compare`). */
export interface ScenarioOptions {
  seed?: number;
  rounds?: number;
  policy?: string;
  set?: string[];
}

interface RunLikeOptions extends ScenarioOptions, RunHostsOptions {
  out?: string;
  workers?: number;
  quiet?: boolean;
}

/** A built-in policy name, or a module path (README "Plug-ins"; relative to the working directory). */
function policyName(p: string, command: string): PolicySpec {
  if (!(POLICY_NAMES as readonly string[]).includes(p) && !looksLikeModule(p))
    throw new UsageError(`${command}: unknown policy '${p}' (known: ${POLICY_NAMES.join(', ')}; or a module path such as ./my-policy.js)`);
  return policyFromArgument(p);
}

/** Loads `file` (or the default), applies --set, --seed, --rounds, --policy, and validates. */
export function scenarioFromOptions(
  file: string | undefined,
  options: ScenarioOptions,
  command: string,
): { scenario: Scenario; file: string } {
  const path = file ?? DEFAULT_SCENARIO;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    loadScenario(path); // throws the ScenarioError that names the file and the problem
  }
  for (const assignment of options.set ?? []) raw = applyOverride(raw, assignment);
  if (options.seed !== undefined) raw = applyOverride(raw, `seed=${options.seed}`);
  if (options.rounds !== undefined) raw = applyOverride(raw, `training.rounds=${options.rounds}`);
  if (options.policy !== undefined) raw = applyOverride(raw, `scheduler.policy=${JSON.stringify(policyName(options.policy, command))}`);
  return { scenario: parseScenario(raw, path, dirname(path)), file: path };
}

async function commandRun(file: string | undefined, options: RunLikeOptions): Promise<number> {
  const { scenario, file: path } = scenarioFromOptions(file, options, 'run');
  const hosts = runHostsOf(options, 'run');
  if (scenario.topology && scenario.topology.driver !== 'simulation') {
    if (hosts) throw new UsageError('run: --hosts runs the built-in simulation; a topology on the slot clock runs on --workers threads');
    const out = resolve(options.out ?? `runs/${scenario.name}-seed${scenario.seed}`);
    const { runTopologyToFolder } = await import('./sim/customTopology');
    const r = await runTopologyToFolder(scenario, { outDir: out, workers: options.workers, baseDir: dirname(path) });
    console.log(`${r.slots} slots of the declared topology, ${r.events} events, log hash ${r.logHash.slice(0, 16)}…; written to ${out}`);
    return 0;
  }
  if (scenario.cells) {
    const out = resolve(options.out ?? `runs/${scenario.name}-seed${scenario.seed}`);
    const { runCellsToFolder } = await import('./sim/cells');
    const r = await runCellsToFolder(scenario, { outDir: out, workers: options.workers });
    for (const [name, cell] of Object.entries(r.cells))
      console.log(
        `cell ${name}: ${cell.summary.rounds} rounds, final accuracy ${(100 * cell.summary.finalAccuracy).toFixed(1)}%, ${cell.summary.devicesOverBudget} devices over budget`,
      );
    console.log(`${r.merges.length} cloud merges, log hash ${r.logHash.slice(0, 16)}…, ${r.wallS.toFixed(1)} s wall; written to ${out}`);
    return 0;
  }
  const out = resolve(options.out ?? `runs/${scenario.name}-${policyLabel(scenario.scheduler.policy)}-seed${scenario.seed}`);
  const { runToFolder } = await import('./sim/run');
  const result = await runToFolder(scenario, {
    outDir: out,
    progress: !options.quiet,
    workers: options.workers,
    baseDir: dirname(path),
    ...(hosts ? { hosts, hostLog: (line: string) => console.error(line) } : {}),
  });
  console.log(
    `${result.summary.rounds} rounds, final accuracy ${(100 * result.summary.finalAccuracy).toFixed(1)}%, ${result.summary.wallS.toFixed(1)} s wall; report: ${resolve(out, 'report.html')}`,
  );
  return result.interrupted ? 130 : 0;
}

/** `airlora topology SCENARIO`: the scenario with the actors it runs declared in its own `topology` format, on stdout (README "The built-in simulation as a topology"). */
async function commandTopology(file: string | undefined, options: ScenarioOptions): Promise<number> {
  const { scenario } = scenarioFromOptions(file, options, 'topology');
  if (scenario.cells)
    throw new UsageError(
      `topology: ${file ?? 'the scenario'} declares cells; a multi-cell system is run from its cells section (airlora run), and has no single-cell topology to print`,
    );
  const { planRun } = await import('./sim/setup');
  const { declaredTopologyOf } = await import('./sim/defaultTopology');
  const declared = scenario.topology ?? declaredTopologyOf(planRun(scenario));
  console.log(JSON.stringify({ ...scenario, topology: declared }, null, 2));
  return 0;
}

async function commandCompare(file: string, options: RunLikeOptions & { policies: string[]; parallel?: number }): Promise<number> {
  if (options.policies.length === 0) throw new UsageError('compare: --policies a,b,c names no policy');
  // Names stay names; module and script paths become specs with absolute paths (the runs' folders hold their scenarios).
  const specs = options.policies.map((n) => policyName(n, 'compare'));
  const { scenario } = scenarioFromOptions(file, options, 'compare');
  const { commandCompare: compareStudy } = await import('./study/studyCommands');
  return compareStudy(file, { ...options, specs }, scenario.name, scenario.seed);
}

async function commandStudy(
  file: string,
  options: { out?: string; parallel?: number; workers?: number; quiet?: boolean } & ClusterStudyOptions,
): Promise<number> {
  const { commandStudy: study } = await import('./study/studyCommands');
  return study(file, { ...options, ...(await clusterExecution(options)) });
}

async function commandReplay(log: string, options: { policy?: string; out?: string; workers?: number; quiet?: boolean }): Promise<number> {
  const { replayLog } = await import('./sim/replay');
  const policy = options.policy === undefined ? undefined : policyName(options.policy, 'replay');
  const result = await replayLog(log, { policy, outDir: options.out, workers: options.workers, progress: !options.quiet });
  console.log(result.message);
  return result.ok ? 0 : 1;
}

async function commandResume(dir: string, options: { workers?: number; quiet?: boolean } & RunHostsOptions): Promise<number> {
  const hosts = runHostsOf(options, 'resume');
  const { resumeFolder } = await import('./sim/run');
  const result = await resumeFolder(resolve(dir), {
    workers: options.workers,
    progress: !options.quiet,
    ...(hosts ? { hosts, hostLog: (line: string) => console.error(line) } : {}),
  });
  console.log(
    `${result.summary.rounds} rounds, final accuracy ${(100 * result.summary.finalAccuracy).toFixed(1)}%; report: ${resolve(dir, 'report.html')}`,
  );
  return result.interrupted ? 130 : 0;
}

function commandValidate(file: string): number {
  try {
    const s = loadScenario(file);
    const what = s.topology
      ? `${s.topology.actors.reduce((n, a) => n + a.count, 0)} actors declared, ${s.training.rounds} slots`
      : s.cells
        ? `${s.cells.length} cells under a cloud merging every ${s.cloud?.everyRounds} rounds, ${s.training.rounds} rounds`
        : `${s.devices.count} devices, ${s.training.rounds} rounds, policy ${policyLabel(s.scheduler.policy)}`;
    console.log(`${file}: valid (${what})`);
    return 0;
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    console.error(`${file}: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}`);
    for (const p of e.problems) console.error(`  ${p.field || '(file)'}: ${p.rule}`);
    return 2;
  }
}

async function commandSolveSlot(file: string): Promise<number> {
  const { solveSlotFile } = await import('../scheduler');
  const { exitCode, output } = solveSlotFile(file);
  (exitCode === 0 ? console.log : console.error)(output);
  return exitCode;
}

async function commandLog(file: string, options: { slot?: number; actor?: string; type?: string }): Promise<number> {
  const { printLog } = await import('./sim/logView');
  return printLog(file, options);
}

const workersOption = () =>
  new Option('--workers <n>', "worker threads (0: every actor in the main thread; default: the scenario's runtime.workers)").argParser(
    integerAtLeast(0),
  );
const quietOption = () => new Option('--quiet', 'no progress output');
const parallelOption = () =>
  new Option('--parallel <n>', 'runs at once (default: one per core, one worker each)').argParser(integerAtLeast(1));

/** Adds the options that build a scenario (run, compare). */
function withScenarioOptions(command: Command): Command {
  return command
    .option('--out <dir>', 'output folder')
    .addOption(new Option('--seed <n>', 'master seed').argParser(integerAtLeast(0)))
    .addOption(workersOption())
    .addOption(new Option('--rounds <n>', 'training rounds').argParser(integerAtLeast(1)))
    .option('--set <path=value>', 'override a scenario field, e.g. channel.bandwidthHz=10e6 (repeatable)', collect)
    .addOption(quietOption());
}

/**
 * The program. Each action stores its exit status in `status` (commander's own errors and help
 * are turned into exit statuses by `main`).
 */
function createProgram(status: { code: number }): Command {
  const program = new Command('airlora')
    .description('split federated LoRA fine-tuning over a wireless cell')
    .showHelpAfterError('(airlora --help lists the commands)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`airlora: ${text.replace(/^error: /, '')}`) })
    .addHelpText(
      'after',
      `\nPolicies: ${POLICY_NAMES.join(', ')}. 'airlora COMMAND --help' describes a command.\nExit status: 0 success; 1 the run failed or a replay found a mismatch; 2 bad usage or bad input; 130 interrupted (a checkpoint was written).`,
    );

  withRunHostsOptions(
    withScenarioOptions(
      program
        .command('run')
        .description('one simulation (without SCENARIO: the built-in scenarios/cell-50.json)')
        .argument('[scenario]', 'scenario file'),
    ),
  )
    .option('--policy <name>', `scheduling policy (${POLICY_NAMES.join(', ')}, or a module path)`)
    .action(async (file: string | undefined, options: RunLikeOptions) => {
      status.code = await commandRun(file, options);
    });

  withScenarioOptions(
    program
      .command('compare')
      .description('a study over policies: the scenario once per policy with the same seed, tables and one report side by side')
      .argument('<scenario>', 'scenario file'),
  )
    .requiredOption('--policies <a,b,c>', `policies to compare (${POLICY_NAMES.join(', ')}, or module paths)`, commaList)
    .addOption(parallelOption())
    .action(async (file: string, options: RunLikeOptions & { policies: string[]; parallel?: number }) => {
      status.code = await commandCompare(file, options);
    });

  withClusterStudyOptions(
    program
      .command('study')
      .description(
        'runs a grid of scenario overrides times seeds in parallel, resumably; writes runs.csv, rounds.csv, summary.csv, paired.csv and report.html',
      )
      .argument('<study>', 'study file (JSON)')
      .option('--out <dir>', 'study folder (default: runs/study-NAME)')
      .addOption(parallelOption())
      .addOption(
        new Option('--workers <n>', 'worker threads per run (default: the cores over --parallel, at least 1)').argParser(integerAtLeast(0)),
      )
      .addOption(quietOption()),
  ).action(async (file: string, options: { out?: string; parallel?: number; workers?: number; quiet?: boolean } & ClusterStudyOptions) => {
    status.code = await commandStudy(file, options);
  });
  addClusterCommands(program, status);

  program
    .command('replay')
    .description('re-executes a run and checks every hash (exit 1 on a mismatch); with --policy, the recorded channel with another policy')
    .argument('<log>', 'event log (events.jsonl)')
    .option('--policy <name>', 'replay the recorded channel and data with this policy, a name or a module path (a counterfactual)')
    .option('--out <dir>', 'output folder')
    .addOption(workersOption())
    .addOption(quietOption())
    .action(async (log: string, options: { policy?: string; out?: string; workers?: number; quiet?: boolean }) => {
      status.code = await commandReplay(log, options);
    });

  withRunHostsOptions(
    program
      .command('resume')
      .description('continues an interrupted run from its last checkpoint')
      .argument('<dir>', "the run's output folder")
      .addOption(workersOption())
      .addOption(quietOption()),
  ).action(async (dir: string, options: { workers?: number; quiet?: boolean } & RunHostsOptions) => {
    status.code = await commandResume(dir, options);
  });

  program
    .command('validate')
    .description('lists every problem of a scenario file, each with its field')
    .argument('<scenario>', 'scenario file')
    .action((file: string) => {
      status.code = commandValidate(file);
    });

  program
    .command('topology')
    .description(
      'prints the scenario with the actors its run runs declared in its own topology format; running that file gives the same event log',
    )
    .argument('[scenario]', 'scenario file (default: the built-in scenarios/cell-50.json)')
    .addOption(new Option('--seed <n>', 'master seed').argParser(integerAtLeast(0)))
    .addOption(new Option('--rounds <n>', 'training rounds').argParser(integerAtLeast(1)))
    .option('--policy <name>', `scheduling policy (${POLICY_NAMES.join(', ')})`)
    .option('--set <path=value>', 'override a scenario field (repeatable)', collect)
    .action(async (file: string | undefined, options: ScenarioOptions) => {
      status.code = await commandTopology(file, options);
    });

  program
    .command('solve-slot')
    .description('one scheduler decision for a per-slot instance (JSON), printed as JSON')
    .argument('<instance>', 'instance file')
    .action(async (file: string) => {
      status.code = await commandSolveSlot(file);
    });

  program
    .command('log')
    .description('reads an event log, filtered; a damaged log shows its valid prefix and where it breaks')
    .argument('<log>', 'event log (events.jsonl)')
    .addOption(new Option('--slot <n>', 'only this slot').argParser(integerAtLeast(0)))
    .option('--actor <id>', 'only events from or to this actor')
    .option('--type <type>', 'only this message type')
    .action(async (file: string, options: { slot?: number; actor?: string; type?: string }) => {
      status.code = await commandLog(file, options);
    });

  return program;
}

/** Runs the command line; resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const status = { code: 0 };
  const program = createProgram(status);
  if (argv.length === 0) {
    console.error(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help asked for is success; any other commander error is bad usage (it printed the message).
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    if (
      e instanceof UsageError ||
      e instanceof ScenarioError ||
      (e instanceof Error && e.name.endsWith('Error') && (e as { exitCode?: number }).exitCode === 2)
    ) {
      console.error(`airlora: ${e.message}`);
      return 2;
    }
    if (e instanceof Error && e.name.endsWith('Error') && (e as { exitCode?: number }).exitCode === 1) {
      console.error(`airlora: ${e.message}`); // a run that failed, e.g. a policy process (its rounds and a checkpoint are kept)
      return 1;
    }
    throw e;
  }
}
