/**
 * `airlora worker --nats URL`: a long-lived process per machine that takes study runs from the
 * JetStream work queue and runs each exactly as a local study does (runInFolder: the study's own
 * child process, the code of `airlora run`). While a run goes on it sends "still working" signals,
 * so a run of minutes is not redelivered; if the worker dies, the server redelivers the job to
 * another worker once the ack wait passes. A run that fails is handed back (nak) for another
 * delivery, and reported failed with its reason at the consumer's last delivery. Results go to the
 * study's object store bucket, or straight into the study folder when it is shared.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { jetstream, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { packageVersion } from '../../runtime/eventLog';
import { failureReason, forkRunChild, runInFolder, type ChildExit } from '../study/executor';
import { runState } from '../study/runState';
import { connectCluster, ensureQueues } from './connection';
import { ClusterMessageError, encode, parseJob, type RunJob, type RunOutcome, type RunStarted } from './messages';
import { progressSubject, resultsSubject, RUNS_STREAM, WORKERS_CONSUMER } from './names';
import { uploadRunFolder } from './runFolderStore';
import { serveHosts } from '../../runtime/natsHosts';

export interface WorkerOptions {
  url: string;
  /** Runs at once (default: one per core; each run's threads are the study's --workers). */
  runs?: number;
  /** Folder for runs outside a shared study folder (default: a fresh temp folder, removed at the end). */
  dir?: string;
  /** Where the worker's log lines go (default stdout). */
  log?: (line: string) => void;
}

export interface Worker {
  /** `host:pid`, as outcomes name it. */
  id: string;
  /** Stops taking runs; runs in flight checkpoint (SIGINT) and go back to the queue. Resolves once all is closed. */
  stop(): Promise<void>;
  /** Resolves when the worker has stopped. */
  closed: Promise<void>;
}

/** How long a pull waits for a job before asking again. */
const PULL_EXPIRES_MS = 2_000;

/** Starts a worker (see the file comment); resolves once it is connected and pulling. */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const version = packageVersion();
  const id = `${hostname()}:${process.pid}`;
  const log = options.log ?? ((line: string) => console.log(line));
  const { nc, jsm } = await connectCluster(options.url, `airlora worker ${id}`);
  await ensureQueues(jsm);
  const js = jetstream(nc);
  const consumer = await js.consumers.get(RUNS_STREAM, WORKERS_CONSUMER);
  const ownDir = options.dir === undefined;
  const baseDir = options.dir ?? mkdtempSync(join(tmpdir(), 'airlora-worker-'));
  const children = new Set<ChildProcess>();
  let stopping = false;

  const spawnChild = (args: string[]): Promise<ChildExit> => {
    const { child, exited } = forkRunChild(args);
    children.add(child);
    return exited.finally(() => children.delete(child));
  };

  const report = async (outcome: Omit<RunOutcome, 'airlora' | 'worker'>): Promise<void> => {
    await js.publish(resultsSubject(outcome.study), encode({ airlora: version, worker: id, ...outcome }));
  };

  /** A job that could not be run here: back to the queue, or reported failed at its last delivery. */
  const giveBack = async (msg: JsMsg, about: { study: string; runId: string }, why: string, maxDeliver: number): Promise<void> => {
    const delivery = msg.info.deliveryCount;
    if (delivery >= maxDeliver) {
      await report({ ...about, delivery, status: 'failed', why: `${why} (delivery ${delivery} of ${maxDeliver})` });
      msg.term(why.slice(0, 200));
      log(`${about.runId}: failed at its last delivery (${delivery} of ${maxDeliver}): ${why}`);
    } else {
      msg.nak();
      log(`${about.runId}: delivery ${delivery} of ${maxDeliver} failed, handed back: ${why}`);
    }
  };

  const execute = async (msg: JsMsg, job: RunJob, settings: { ackWaitS: number; maxDeliver: number }): Promise<void> => {
    const delivery = msg.info.deliveryCount;
    const about = { study: job.study, runId: job.runId };
    nc.publish(progressSubject(job.study), encode({ runId: job.runId, worker: id, delivery } satisfies RunStarted));
    log(`${job.runId}: started (delivery ${delivery})`);
    const dir = job.shared ? join(job.shared, 'runs', job.runId) : join(baseDir, job.study, job.runId);
    // "Still working", well within the ack wait, for as long as the run goes on.
    const heartbeat = setInterval(() => msg.working(), Math.max(200, (settings.ackWaitS * 1000) / 3));
    try {
      const { exit } = await runInFolder(job, dir, job.workers, spawnChild, () => stopping);
      const after = runState(dir);
      if (exit.code === 0 && after.state === 'finished') {
        const logHash = String((JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { logHash?: unknown }).logHash);
        let files: { prefix: string; files: string[] } | undefined;
        if (!job.shared) {
          const prefix = `${job.runId}/${id}-${delivery}/`;
          const store = await new Objm(js).open(job.bucket).catch(() => undefined);
          if (!store) {
            // The study finished (its bucket is gone): this was a duplicate nobody waits for.
            msg.ack();
            log(`${job.runId}: finished, but its study is over (no bucket ${job.bucket}); dropped`);
            return;
          }
          files = { prefix, files: await uploadRunFolder(store, dir, prefix) };
        }
        await report({ ...about, delivery, status: 'finished', logHash, ...files });
        await msg.ackAck();
        log(`${job.runId}: finished, log hash ${logHash.slice(0, 16)}…`);
      } else if (stopping) {
        msg.nak(); // this worker is stopping: another one takes it (from the checkpoint, in a shared folder)
        log(`${job.runId}: stopped with the worker, handed back`);
      } else {
        await giveBack(msg, about, failureReason(exit, after), settings.maxDeliver);
      }
    } finally {
      clearInterval(heartbeat);
      if (!job.shared) rmSync(dir, { recursive: true, force: true });
    }
  };

  const handle = async (msg: JsMsg): Promise<void> => {
    const info = await consumer.info(); // not cached: the study may have changed the ack wait or deliveries
    const settings = { ackWaitS: (info.config.ack_wait ?? 30e9) / 1e9, maxDeliver: info.config.max_deliver ?? 1 };
    let job: RunJob;
    try {
      job = parseJob(msg.data, version);
    } catch (e) {
      if (!(e instanceof ClusterMessageError)) throw e;
      if (e.about) await giveBack(msg, e.about, `worker ${id} refused it: ${e.message}`, settings.maxDeliver);
      else {
        msg.term(e.message.slice(0, 200));
        log(`dropped a job: ${e.message}`);
      }
      return;
    }
    await execute(msg, job, settings);
  };

  const lane = async (consumerOf: Consumer): Promise<void> => {
    while (!stopping) {
      let msg: JsMsg | null;
      try {
        msg = await consumerOf.next({ expires: PULL_EXPIRES_MS });
      } catch (e) {
        if (stopping || nc.isClosed()) return;
        log(`pull failed (${(e as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      if (msg && stopping) msg.nak();
      else if (msg) {
        const handling = handle(msg).catch((e: unknown) =>
          log(`run failed in the worker itself: ${e instanceof Error ? e.stack : String(e)}`),
        );
        inFlight.add(handling);
        await handling;
        inFlight.delete(handling);
      }
    }
  };

  const runs = options.runs ?? availableParallelism();
  // The hosts of distributed runs (`airlora run --nats URL --hosts N`), beside the study runs.
  const hosts = await serveHosts(nc, { worker: id, version, log });
  log(
    `airlora ${version} worker ${id} on ${options.url}: ${runs} run${runs === 1 ? '' : 's'} at once, actor hosts of runs on ${hosts.subject}`,
  );
  const inFlight = new Set<Promise<void>>();
  const lanes = Promise.all(Array.from({ length: runs }, () => lane(consumer)));
  let stopped: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (stopped = resolve)).then(async () => {
    // The runs in flight checkpoint and go back to the queue; then the connection closes, even if the server is gone.
    for (const c of children) c.kill('SIGINT');
    await hosts.stop();
    await Promise.all(inFlight);
    await Promise.race([nc.drain(), new Promise((r) => setTimeout(r, 2 * PULL_EXPIRES_MS))]).catch(() => undefined);
    if (!nc.isClosed()) await nc.close();
    await lanes;
    if (ownDir) rmSync(baseDir, { recursive: true, force: true });
  });
  return {
    id,
    closed,
    stop: async () => {
      stopping = true;
      stopped();
      await closed;
    },
  };
}
