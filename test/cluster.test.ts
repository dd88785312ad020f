/**
 * Clusters for real, through the command line on the build, against a throwaway
 * nats-server (random loopback port, its own JetStream folder): a study over NATS with two
 * `airlora worker` processes writes the runs.csv of the local study (wall time aside; the same log
 * hashes) and runs nothing when started again; a worker killed with SIGKILL mid-run has its run
 * redelivered to the other worker; a run that always fails is reported failed after the bounded
 * deliveries, with its reason; `airlora slurm` scripts (NATS on the first node, and the job array
 * without a server) run under a stand-in sbatch/srun and write the study's outputs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { natsServerBinary, startNatsServer, type TestNatsServer } from './natsServer';
import { BIN, QUICK, writeTwoPolicyStudy } from './studyFixture';

const root = mkdtempSync(join(tmpdir(), 'airlora-cluster-'));
const STUDY = writeTwoPolicyStudy(root, [3]);
/** Short ack wait and two deliveries: a dead worker's run moves on in seconds. */
const DELIVERY = ['--ack-wait', '2', '--max-deliver', '2'];

const airlora = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });

/** runs.csv as rows of cells, with the wall-clock column dropped. */
function runsWithoutWall(dir: string): string[][] {
  const [header, ...rows] = readFileSync(join(dir, 'runs.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const wall = (header as string[]).indexOf('wallS');
  expect(wall).toBeGreaterThan(0);
  return [header as string[], ...rows].map((r) => r.filter((_, i) => i !== wall));
}

interface Spawned {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output from character `from` on matches `pattern`; rejects if the process exits first or after `ms`. */
  waitFor: (pattern: RegExp, from?: number, ms?: number) => Promise<void>;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = process.env): Spawned {
  const child = spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, from = 0, ms = 240_000) =>
    new Promise<void>((resolve, reject) => {
      const since = Date.now();
      const timer = setInterval(() => {
        if (pattern.test(text.slice(from))) {
          clearInterval(timer);
          resolve();
        } else if (child.exitCode !== null || Date.now() - since > ms) {
          clearInterval(timer);
          reject(new Error(`no ${pattern} in the output of ${args.join(' ')}:\n${text}`));
        }
      }, 50);
    });
  return { child, output: () => text, waitFor, exited };
}

const startWorker = async (url: string): Promise<Spawned> => {
  const w = start([process.execPath, BIN, 'worker', '--nats', url, '--runs', '1']);
  await w.waitFor(/worker \S+ on nats:\/\/.*: 1 run at once/, 0, 60_000);
  return w;
};
const workerId = (w: Spawned): string => /worker (\S+) on/.exec(w.output())![1]!;

let server: TestNatsServer;
const workers: Spawned[] = [];
const reference = join(root, 'reference');

beforeAll(async () => {
  server = await startNatsServer();
  const r = airlora('study', STUDY, '--out', reference, '--parallel', '2', '--quiet');
  expect(r.status).toBe(0);
}, 300_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  await server?.stop();
}, 60_000);

describe('airlora study --nats', () => {
  it("with two workers writes the local study's runs.csv (the same log hashes); started again, it publishes nothing", async () => {
    workers.push(await startWorker(server.url), await startWorker(server.url));
    const out = join(root, 'nats');
    const r = airlora('study', STUDY, '--nats', server.url, '--out', out, ...DELIVERY);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('2 of 2 runs finished (0 already, 0 resumed, 2 started');
    expect(runsWithoutWall(out)).toEqual(runsWithoutWall(reference));
    const hashes = (dir: string) => runsWithoutWall(dir).map((row) => row[runsWithoutWall(dir)[0]!.indexOf('logHash')]);
    expect(
      hashes(out)
        .slice(1)
        .every((h) => /^[0-9a-f]{64}$/.test(h!)),
    ).toBe(true);
    expect(hashes(out)).toEqual(hashes(reference));
    for (const f of ['runs.csv', 'rounds.csv', 'summary.csv', 'paired.csv', 'report.html']) expect(existsSync(join(out, f))).toBe(true);
    for (const id of readdirSync(join(reference, 'runs')))
      for (const f of ['events.jsonl', 'metrics.csv', 'summary.json', 'report.html', 'scenario.json'])
        expect(readFileSync(join(out, 'runs', id, f)).length).toBeGreaterThan(0);

    const again = airlora('study', STUDY, '--nats', server.url, '--out', out, ...DELIVERY);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('2 of 2 runs finished (2 already, 0 resumed, 0 started');
  }, 400_000);

  it('redelivers the run of a worker killed with SIGKILL to the other worker: the same results', async () => {
    const out = join(root, 'killed');
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    const study = start([process.execPath, BIN, 'study', STUDY, '--nats', server.url, '--out', out, ...DELIVERY]);
    // Two fresh workers (a worker was once seen to take no second run, so neither has run before); the first to start a run is killed a second into it.
    const pair = [await startWorker(server.url), await startWorker(server.url)];
    workers.push(...pair);
    const first = await Promise.race(pair.map((w, i) => w.waitFor(/: started \(delivery 1\)/).then(() => i)));
    const victim = pair[first] as Spawned;
    const survivor = pair[1 - first] as Spawned;
    await new Promise((r) => setTimeout(r, 1_000));
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(await study.exited).toBe(0);
    const redelivered = new RegExp(`finished: \\S+ \\([\\d.]+s on ${workerId(survivor).replace(/[.:]/g, '\\$&')}, delivery 2\\)`);
    if (!redelivered.test(study.output()))
      throw new Error(
        `no run redelivered to the survivor:\n${study.output()}\nkilled worker:\n${victim.output()}\nsurvivor:\n${survivor.output()}`,
      );
    expect(runsWithoutWall(out)).toEqual(runsWithoutWall(reference));
  }, 400_000);

  it('reports a run that always fails as failed after the bounded deliveries, with its reason', async () => {
    if (!workers.some((w) => w.child.exitCode === null && w.child.signalCode === null)) workers.push(await startWorker(server.url));
    const failing = join(root, 'failing.json');
    writeFileSync(
      failing,
      JSON.stringify({
        name: 'failing',
        scenario: QUICK,
        set: { 'training.rounds': 2, 'model.checkpoint': join(root, 'no-such-checkpoint') },
      }),
    );
    const r = airlora('study', failing, '--nats', server.url, '--out', join(root, 'failing'), ...DELIVERY);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('0 of 1 runs finished (0 already, 0 resumed, 1 started');
    expect(r.stderr).toMatch(
      /failed: \S+: exit 1: CheckpointError: checkpoint .*no-such-checkpoint: folder does not exist \(ENOENT\) \(delivery 2 of 2\)/,
    );
  }, 120_000);

  it('names the problem when no server answers at the URL (exit 2)', () => {
    const r = airlora('study', STUDY, '--nats', 'nats://127.0.0.1:1', '--out', join(root, 'nowhere'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no NATS server at nats://127.0.0.1:1');
  });
});

describe('airlora slurm', () => {
  /** Stand-ins for sbatch and srun: the job runs here with the SLURM_* variables a job gets; an array's tasks side by side. */
  const fakeBin = join(root, 'fake-slurm');
  mkdirSync(fakeBin, { recursive: true });
  writeFileSync(
    join(fakeBin, 'sbatch'),
    `#!/bin/bash
script="$1"
array=$(sed -n 's/^#SBATCH --array=\\([0-9]*-[0-9]*\\).*/\\1/p' "$script")
nodes=$(sed -n 's/^#SBATCH --nodes=\\([0-9]*\\).*/\\1/p' "$script")
export SLURM_JOB_ID=$$ SLURM_JOB_NUM_NODES=\${nodes:-1} SLURM_CPUS_ON_NODE=1 SLURMD_NODENAME=127.0.0.1
if [ -z "$array" ]; then exec bash "$script"; fi
pids=()
for i in $(seq "\${array%-*}" "\${array#*-}"); do SLURM_ARRAY_JOB_ID=$$ SLURM_ARRAY_TASK_ID=$i bash "$script" & pids+=($!); done
status=0; for p in "\${pids[@]}"; do wait "$p" || status=1; done; exit $status
`,
  );
  writeFileSync(
    join(fakeBin, 'srun'),
    `#!/bin/bash
n=1
while [[ "$1" == --* ]]; do case "$1" in --ntasks=*) n=\${1#--ntasks=};; esac; shift; done
pids=()
for i in $(seq 1 "$n"); do SLURM_PROCID=$((i - 1)) "$@" & pids+=($!); done
trap 'kill -TERM "\${pids[@]}" 2>/dev/null' TERM INT
wait; wait
`,
  );
  for (const f of ['sbatch', 'srun']) chmodSync(join(fakeBin, f), 0o755);
  const env = () => ({
    ...process.env,
    PATH: [fakeBin, dirname(natsServerBinary()), dirname(process.execPath), process.env.PATH].join(':'),
  });

  it("--nodes 2: nats-server on the first node, a worker per node, the study: the local study's runs.csv", () => {
    const out = join(root, 'slurm');
    const w = airlora('slurm', STUDY, '--nodes', '2', '--out', out, '--time', '00:10:00');
    expect(w.status).toBe(0);
    const script = join(out, 'slurm.sbatch');
    expect(w.stdout).toContain(`submit with: sbatch ${script}`);
    const text = readFileSync(script, 'utf8');
    expect(text).toMatch(/^#!\/bin\/bash\n#SBATCH --job-name=airlora-two-policies\n#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=1\n/);
    expect(text).toContain('#SBATCH --time=00:10:00');
    const job = spawnSync('sbatch', [script], { encoding: 'utf8', env: env(), timeout: 300_000 });
    expect(job.status).toBe(0);
    expect(job.stdout).toContain('2 of 2 runs finished (0 already, 0 resumed, 2 started;');
    expect(runsWithoutWall(out)).toEqual(runsWithoutWall(reference));
  }, 400_000);

  it('--array: task i runs run i into the shared folder, no server; the last one writes the tables', () => {
    const out = join(root, 'array');
    const w = airlora('slurm', STUDY, '--array', '--out', out);
    expect(w.status).toBe(0);
    const script = join(out, 'slurm-array.sbatch');
    expect(readFileSync(script, 'utf8')).toContain('#SBATCH --array=0-1\n');
    const job = spawnSync('sbatch', [script], { encoding: 'utf8', env: env(), timeout: 300_000 });
    expect(job.status).toBe(0);
    // Each task ran its run; the one that finished last (or both, finishing together) saw the whole study.
    expect(job.stdout.match(/[12] of 2 runs finished \(\d already, 0 resumed, 1 started/g)).toHaveLength(2);
    expect(job.stdout).toContain('2 of 2 runs finished (');
    expect(runsWithoutWall(out)).toEqual(runsWithoutWall(reference));
    // A task's index beyond the study is bad input.
    const bad = airlora('study', STUDY, '--out', out, '--only', '2');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--only: is 2, but the study has 2 runs (0 to 1)');
  }, 400_000);
});
