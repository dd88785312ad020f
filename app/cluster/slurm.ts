/**
 * `airlora slurm STUDY.json`: sbatch scripts for a university cluster (README "Clusters").
 * Server form (--nodes N): one job of N nodes; nats-server on the first node (where the batch
 * script runs; free port, read back from its ports file), one `airlora worker` per node through
 * srun, and the study submitted over NATS from the first node. Array form (--array): no server; task
 * i of a job array runs run i of the study into the study folder, which must be shared; the task
 * that completes the study writes its tables.
 */
import { resolve } from 'node:path';

export interface SlurmOptions {
  /** Absolute path of the study file. */
  studyFile: string;
  studyName: string;
  /** Runs in the study (the array's size). */
  runs: number;
  /** Absolute path of the study folder. */
  out: string;
  /** Nodes of the server form. */
  nodes?: number;
  array?: boolean;
  /** Worker threads per run (default 1). */
  workers?: number;
  /** Cores per node for the server form's workers (default: what SLURM gives the job on each node). */
  cpusPerNode?: number;
  partition?: string;
  account?: string;
  /** Wall-time limit, SLURM's format (e.g. 02:00:00). */
  time?: string;
  /** The study folder is shared by the nodes: the server form's workers write into it (no object store). */
  shared?: boolean;
  /** How the nodes start airlora, word by word (default: defaultAirloraCommand). */
  airlora?: string[];
}

/** Quotes a word for bash. */
const q = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** The airlora command of this installation (node and its bin/airlora.js), for nodes that share its file system. */
export function defaultAirloraCommand(): string[] {
  return ['node', resolve(__dirname, '..', '..', '..', 'bin', 'airlora.js')];
}

function header(options: SlurmOptions, lines: string[]): string[] {
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=airlora-${options.studyName}`,
    ...lines,
    ...(options.partition ? [`#SBATCH --partition=${options.partition}`] : []),
    ...(options.account ? [`#SBATCH --account=${options.account}`] : []),
    ...(options.time ? [`#SBATCH --time=${options.time}`] : []),
    `# Written by 'airlora slurm' for the study ${options.studyFile} (${options.runs} runs); write it again after editing the study.`,
    'set -uo pipefail',
    `AIRLORA=(${(options.airlora ?? defaultAirloraCommand()).map(q).join(' ')})`,
    `STUDY=${q(options.studyFile)}`,
    `OUT=${q(options.out)}`,
    'mkdir -p "$OUT"',
  ];
}

/** The server form: nats-server, a worker per node, the study over NATS. */
export function slurmServerScript(options: SlurmOptions): string {
  const workers = options.workers ?? 1;
  return `${[
    ...header(options, [
      `#SBATCH --nodes=${options.nodes ?? 1}`,
      '#SBATCH --ntasks-per-node=1',
      ...(options.cpusPerNode ? [`#SBATCH --cpus-per-task=${options.cpusPerNode}`] : []),
      `#SBATCH --output=${options.out}/slurm-%j.out`,
    ]),
    '',
    "# NATS on this node (the job's first), on a free port written to its ports file; JetStream in a job-local folder.",
    'NATS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/airlora-nats-${SLURM_JOB_ID:-job}.XXXXXX")',
    'cat > "$NATS_DIR/nats.conf" <<EOF',
    'listen: "0.0.0.0:-1"',
    'ports_file_dir: "$NATS_DIR"',
    'ping_interval: "5s"',
    'jetstream { store_dir: "$NATS_DIR/store" }',
    'EOF',
    'nats-server -c "$NATS_DIR/nats.conf" &',
    'NATS_PID=$!',
    'WORKERS_PID=',
    'cleanup() {',
    '  [ -n "$WORKERS_PID" ] && kill -TERM "$WORKERS_PID" 2>/dev/null && wait "$WORKERS_PID"',
    '  kill -TERM "$NATS_PID" 2>/dev/null; wait "$NATS_PID"',
    '  rm -rf "$NATS_DIR"',
    '}',
    'trap cleanup EXIT',
    'for _ in $(seq 200); do ls "$NATS_DIR"/*.ports >/dev/null 2>&1 && break; sleep 0.1; done',
    "PORT=$(grep -o 'nats://[^\"]*' \"$NATS_DIR\"/*.ports | head -n 1 | sed 's/.*://')",
    '[ -n "$PORT" ] || { echo "airlora: nats-server did not start on $(hostname)" >&2; exit 1; }',
    'URL="nats://${SLURMD_NODENAME:-$(hostname)}:$PORT"',
    '',
    `# One worker per node, as many runs at once as the node's cores allow at ${workers} thread${workers === 1 ? '' : 's'} per run.`,
    `RUNS=$(( \${SLURM_CPUS_ON_NODE:-1} / ${workers} )); [ "$RUNS" -ge 1 ] || RUNS=1`,
    'srun --nodes="${SLURM_JOB_NUM_NODES:-1}" --ntasks="${SLURM_JOB_NUM_NODES:-1}" --ntasks-per-node=1 "${AIRLORA[@]}" worker --nats "$URL" --runs "$RUNS" &',
    'WORKERS_PID=$!',
    '',
    `"\${AIRLORA[@]}" study "$STUDY" --nats "$URL" --out "$OUT" --workers ${workers}${options.shared ? ' --shared' : ''}`,
  ].join('\n')}\n`;
}

/** The array form: task i runs run i of the study into the shared study folder. */
export function slurmArrayScript(options: SlurmOptions): string {
  const workers = options.workers ?? 1;
  return `${[
    ...header(options, [
      `#SBATCH --array=0-${options.runs - 1}`,
      '#SBATCH --ntasks=1',
      `#SBATCH --cpus-per-task=${workers}`,
      `#SBATCH --output=${options.out}/slurm-%A_%a.out`,
    ]),
    '',
    '# Run SLURM_ARRAY_TASK_ID of the study; the task that finds every run finished writes the tables and report.',
    `"\${AIRLORA[@]}" study "$STUDY" --out "$OUT" --only "$SLURM_ARRAY_TASK_ID" --workers ${workers} --parallel 1`,
  ].join('\n')}\n`;
}
