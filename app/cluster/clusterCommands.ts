/**
 * The command-line ends of app/cluster (README "Clusters"): `airlora worker`, `airlora slurm`,
 * and the options that send `airlora study` to NATS workers (--nats, --shared, --ack-wait,
 * --max-deliver) or run one run of it (--only, a job array's task).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { integerAtLeast, UsageError } from '../args';
import type { StudyExecutor } from '../study';
import type { RunHosts } from './hosts';
import type { SlurmOptions } from './slurm';

/** `--ack-wait` seconds: a positive number. */
function positiveSeconds(raw: string): number {
  const s = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(s) || s <= 0) throw new InvalidArgumentError(`must be a number of seconds > 0, got ${raw}`);
  return s;
}

/** The study command's options for clusters. */
export interface ClusterStudyOptions {
  nats?: string;
  shared?: boolean;
  ackWait?: number;
  maxDeliver?: number;
  only?: number;
}

/** Adds --nats, --shared, --ack-wait, --max-deliver and --only to `airlora study`. */
export function withClusterStudyOptions(command: Command): Command {
  return command
    .option('--nats <url>', 'run on `airlora worker` processes through this NATS server (JetStream on)')
    .option('--shared', 'with --nats: the study folder is on a file system all workers see at the same path; runs are written there')
    .addOption(
      new Option(
        '--ack-wait <s>',
        'with --nats: seconds without a "still working" signal before a run goes to another worker (default 30)',
      ).argParser(positiveSeconds),
    )
    .addOption(
      new Option('--max-deliver <n>', 'with --nats: deliveries of a run before it is reported failed (default 3)').argParser(
        integerAtLeast(1),
      ),
    )
    .addOption(
      new Option('--only <i>', 'run only run I of the study (0-based; a job array task); tables once every run is finished').argParser(
        integerAtLeast(0),
      ),
    );
}

/** The executor and the options to continue with, when the study goes to NATS; nothing for a local study. */
export async function clusterExecution(options: ClusterStudyOptions): Promise<{ execute?: StudyExecutor; againArgs: string[] }> {
  const again = options.only !== undefined ? ['--only', String(options.only)] : [];
  if (options.nats === undefined) {
    for (const [flag, given] of [
      ['--shared', options.shared],
      ['--ack-wait', options.ackWait],
      ['--max-deliver', options.maxDeliver],
    ] as const)
      if (given !== undefined) throw new UsageError(`study: ${flag} needs --nats`);
    return { againArgs: again };
  }
  const { natsStudyExecutor } = await import('./study');
  const { DEFAULT_DELIVERY } = await import('./connection');
  const delivery = {
    ackWaitS: options.ackWait ?? DEFAULT_DELIVERY.ackWaitS,
    maxDeliver: options.maxDeliver ?? DEFAULT_DELIVERY.maxDeliver,
  };
  return {
    execute: natsStudyExecutor({ url: options.nats, shared: options.shared === true, delivery }),
    againArgs: [
      ...again,
      '--nats',
      options.nats,
      ...(options.shared ? ['--shared'] : []),
      '--ack-wait',
      String(delivery.ackWaitS),
      '--max-deliver',
      String(delivery.maxDeliver),
    ],
  };
}

/** The options of `airlora run` and `airlora resume` that place the run's hosts on NATS workers. */
export interface RunHostsOptions {
  nats?: string;
  hosts?: number;
  workers?: number;
}

/** Adds --nats and --hosts to `airlora run` or `airlora resume`. */
export function withRunHostsOptions(command: Command): Command {
  return command
    .option('--nats <url>', 'with --hosts: place the actor hosts on `airlora worker` processes through this NATS server')
    .addOption(
      new Option(
        '--hosts <n>',
        'with --nats: actor hosts of the run, each on its own worker process (instead of --workers threads)',
      ).argParser(integerAtLeast(1)),
    );
}

/** Where the run's hosts go, checked: both options or neither, and not with --workers. */
export function runHostsOf(options: RunHostsOptions, command: string): RunHosts | undefined {
  if (options.nats === undefined && options.hosts === undefined) return undefined;
  if (options.nats === undefined) throw new UsageError(`${command}: --hosts needs --nats URL (the server the workers are on)`);
  if (options.hosts === undefined)
    throw new UsageError(`${command}: --nats needs --hosts N (how many worker processes the run's actors go on)`);
  if (options.workers !== undefined)
    throw new UsageError(`${command}: --workers (threads here) and --hosts (worker processes) exclude each other`);
  return { url: options.nats, count: options.hosts };
}

/** `airlora worker --nats URL`: runs until SIGINT or SIGTERM, then hands its runs in flight back. */
async function commandWorker(options: { nats: string; runs?: number; dir?: string }): Promise<number> {
  const { startWorker } = await import('./studyWorker');
  const worker = await startWorker({ url: options.nats, runs: options.runs, ...(options.dir ? { dir: resolve(options.dir) } : {}) });
  const stop = (): void => {
    console.log(`worker ${worker.id}: stopping`);
    void worker.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.closed;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return 0;
}

/** The slurm command's options: the script's settings that the user gives, plus where to write it. */
type SlurmCommandOptions = Partial<Omit<SlurmOptions, 'studyFile' | 'studyName' | 'runs' | 'airlora'>> & { script?: string };

/** `airlora slurm STUDY.json`: writes the sbatch script (server form, or --array) and says how to submit it. */
async function commandSlurm(file: string, options: SlurmCommandOptions): Promise<number> {
  if (!options.array && options.nodes === undefined)
    throw new UsageError('slurm: give --nodes N (a NATS server and a worker per node) or --array (a job array, no server)');
  if (options.array && options.shared)
    throw new UsageError('slurm: --shared is for the server form; a job array always writes into the (shared) study folder');
  const { loadStudy, planStudy } = await import('../study');
  const { slurmArrayScript, slurmServerScript } = await import('./slurm');
  const study = loadStudy(file);
  const plan = planStudy(study, file);
  const out = resolve(options.out ?? `runs/study-${study.name}`);
  const script = resolve(options.script ?? join(out, options.array ? 'slurm-array.sbatch' : 'slurm.sbatch'));
  const { script: _script, array: _array, ...given } = options;
  const settings: SlurmOptions = { ...given, studyFile: resolve(file), studyName: study.name, runs: plan.runs.length, out };
  mkdirSync(out, { recursive: true }); // SLURM opens the job's output file there before the script starts
  mkdirSync(dirname(script), { recursive: true });
  writeFileSync(script, options.array ? slurmArrayScript(settings) : slurmServerScript(settings), { mode: 0o755 });
  console.log(
    `${options.array ? `job array of ${plan.runs.length} tasks` : `${options.nodes} node${options.nodes === 1 ? '' : 's'}: nats-server, a worker per node, the study`}; submit with: sbatch ${script}`,
  );
  return 0;
}

/** Adds `worker` and `slurm` to the program; each action stores its exit status in `status`. */
export function addClusterCommands(program: Command, status: { code: number }): void {
  program
    .command('worker')
    .description(
      'takes study runs from a NATS server and runs them, and hosts actors of runs started with --hosts, until SIGINT/SIGTERM (one per machine)',
    )
    .requiredOption('--nats <url>', 'NATS server URL (JetStream on), e.g. nats://head-node:4222')
    .addOption(new Option('--runs <n>', 'runs at once (default: one per core)').argParser(integerAtLeast(1)))
    .option('--dir <dir>', 'folder for runs in progress (default: a temp folder)')
    .action(async (options: { nats: string; runs?: number; dir?: string }) => {
      status.code = await commandWorker(options);
    });

  program
    .command('slurm')
    .description(
      'writes an sbatch script for a study: NATS on the first node and a worker on each (--nodes N), or a job array with no server (--array)',
    )
    .argument('<study>', 'study file (JSON)')
    .addOption(new Option('--nodes <n>', 'nodes of the job (server form)').argParser(integerAtLeast(1)))
    .option('--array', 'a job array instead: task i runs run i into the study folder (needs a shared file system)')
    .option('--out <dir>', 'study folder (default: runs/study-NAME)')
    .option('--script <file>', 'where to write the script (default: in the study folder)')
    .addOption(new Option('--workers <n>', 'worker threads per run (default 1)').argParser(integerAtLeast(1)))
    .addOption(
      new Option('--cpus-per-node <n>', 'cores per node for its worker (server form; default: what SLURM gives)').argParser(
        integerAtLeast(1),
      ),
    )
    .option('--partition <name>', 'SLURM partition')
    .option('--account <name>', 'SLURM account')
    .option('--time <limit>', 'SLURM time limit, e.g. 02:00:00')
    .option('--shared', 'server form: the study folder is shared by the nodes; workers write into it')
    .action(async (file: string, options: SlurmCommandOptions) => {
      status.code = await commandSlurm(file, options);
    });
}
