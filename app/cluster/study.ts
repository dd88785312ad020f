/**
 * `airlora study STUDY.json --nats URL`: the study's runs as jobs on the JetStream work queue,
 * executed by `airlora worker` processes, their folders collected into the study folder. What is
 * written is what a local study writes: each run an ordinary run folder, then the same tables and
 * report (app/study). Runs already finished in the folder are not published again; jobs of an
 * earlier start still queued are replaced. A run is deterministic, so a second delivery that also
 * finishes is recognized by its log hash and ignored (a different hash is reported: it would mean
 * a run that is not a function of its scenario).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { packageVersion } from '../../runtime/eventLog';
import { formatDurationS, type ProgressStream } from '../report';
import { freshOutcome, runDir, type ExecuteOptions, type ExecuteOutcome } from '../study/executor';
import type { StudyExecutor } from '../study';
import type { StudyPlan } from '../study/plan';
import { createStudyProgress } from '../study/studyProgress';
import { readRunResult } from '../study/results';
import { runState } from '../study/runState';
import { connectCluster, DEFAULT_DELIVERY, ensureQueues, type Cluster, type DeliverySettings } from './connection';
import { encode, parseOutcome, type RunJob, type RunOutcome, type RunStarted } from './messages';
import {
  bucketName,
  MAX_DELIVERIES_ADVISORY,
  progressSubject,
  RESULTS_STREAM,
  resultsSubject,
  RUNS_STREAM,
  runsSubject,
  studyKey,
} from './names';
import { deleteRunObjects, downloadRunFolder } from './runFolderStore';

export interface NatsStudyOptions {
  url: string;
  /** The study folder is on a file system every worker sees at the same path: runs are written there, nothing goes through the object store. */
  shared?: boolean;
  /** The workers' consumer: ack wait and deliveries (default DEFAULT_DELIVERY). */
  delivery?: DeliverySettings;
  /** Seconds without any run started before a hint that no worker is taking runs (default 20). */
  idleHintS?: number;
}

/** The log hash a finished run folder's summary gives. */
const logHashOf = (dir: string): unknown => (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { logHash?: unknown }).logHash;

/** The executor that runs a study's plan on NATS workers (see the file comment). */
export function natsStudyExecutor(nats: NatsStudyOptions): StudyExecutor {
  return async (plan: StudyPlan, options: ExecuteOptions): Promise<ExecuteOutcome> => {
    const key = studyKey(plan, options.outDir);
    const stream = options.stream ?? process.stdout;
    const { nc, jsm } = await connectCluster(nats.url, `airlora study ${plan.study.name}`);
    try {
      return await follow(plan, options, nats, { nc, jsm, key, stream });
    } finally {
      await nc.close();
    }
  };
}

interface Connected {
  nc: Cluster['nc'];
  jsm: Cluster['jsm'];
  key: string;
  stream: ProgressStream;
}

/** Publishes the runs still to do, collects outcomes until none is pending (or SIGINT), and cleans up after a complete study. */
async function follow(
  plan: StudyPlan,
  options: ExecuteOptions,
  nats: NatsStudyOptions,
  { nc, jsm, key, stream }: Connected,
): Promise<ExecuteOutcome> {
  const version = packageVersion();
  const js = jetstream(nc);
  const delivery = await ensureQueues(jsm, nats.delivery ?? DEFAULT_DELIVERY);

  const byId = new Map(plan.runs.map((r) => [r.id, r]));
  const finishedIds = new Set(plan.runs.filter((r) => runState(runDir(options.outDir, r)).state === 'finished').map((r) => r.id));
  const todo = plan.runs.filter((r, i) => !finishedIds.has(r.id) && (options.only === undefined || i === options.only));
  const pending = new Set(todo.map((r) => r.id));
  const failures = new Map<string, string>();
  const workersSeen = new Set<string>();
  const jobSeqs = new Map<number, string>();
  const progress = createStudyProgress({ total: plan.runs.length, finishedBefore: finishedIds.size, stream });
  const outcome = freshOutcome(finishedIds.size, 0, options.workers ?? 1);
  const store: ObjectStore | undefined = nats.shared ? undefined : await new Objm(js).create(bucketName(key));
  let duplicates = 0;
  let anyStarted = false;
  let wake: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (wake = resolve));
  const check = (): void => {
    if (pending.size === 0 || outcome.interrupted) wake();
  };

  const fail = (id: string, why: string): void => {
    if (!pending.delete(id)) return;
    failures.set(id, why);
    progress.ended(id, 'failed', why);
    check();
  };

  /** A worker's report: collect a finished run (once), record a failure. */
  const onOutcome = async (o: RunOutcome): Promise<void> => {
    const run = byId.get(o.runId);
    if (o.study !== key || !run) return;
    workersSeen.add(o.worker);
    if (o.status === 'failed') return fail(run.id, `${o.why ?? 'no reason given'} [worker ${o.worker}]`);
    const dir = runDir(options.outDir, run);
    if (finishedIds.has(run.id)) {
      // A second delivery that finished too: harmless when deterministic, as it must be.
      const held = logHashOf(dir);
      if (held === o.logHash) duplicates += 1;
      else
        stream.write(
          `run ${run.id}: a second delivery on ${o.worker} gave log hash ${String(o.logHash)}, the collected one ${String(held)}: the run is not deterministic\n`,
        );
    } else {
      try {
        if (store && o.prefix && o.files) await downloadRunFolder(store, o.prefix, o.files, dir);
        const state = runState(dir);
        if (state.state !== 'finished') throw new Error(`the collected folder is not a finished run (${state.why})`);
        if (logHashOf(dir) !== o.logHash)
          throw new Error(`the collected log hash is not the one the worker reported (${String(o.logHash)})`);
      } catch (e) {
        return fail(run.id, `collecting it from ${o.worker} failed: ${(e as Error).message}`);
      }
      finishedIds.add(run.id);
      pending.delete(run.id);
      failures.delete(run.id);
      progress.ended(
        run.id,
        'finished',
        `${formatDurationS(Number(readRunResult(run, dir).summary.wallS))} on ${o.worker}${o.delivery > 1 ? `, delivery ${o.delivery}` : ''}`,
      );
      check();
    }
    if (store && o.prefix && o.files) await deleteRunObjects(store, o.prefix, o.files);
  };

  const started = nc.subscribe(progressSubject(key), {
    callback: (_err, m) => {
      const note = m.json<RunStarted>();
      anyStarted = true;
      if (pending.has(note.runId)) progress.started(note.runId);
    },
  });
  // The server gives a job up after max_deliver deliveries without an ack: its workers died or stopped answering.
  const givenUp = nc.subscribe(MAX_DELIVERIES_ADVISORY, {
    callback: (_err, m) => {
      const a = m.json<{ stream_seq?: number; deliveries?: number }>();
      const id = jobSeqs.get(a.stream_seq ?? -1);
      if (id) fail(id, `delivered ${a.deliveries ?? delivery.maxDeliver} times without an answer: its workers died or stopped answering`);
    },
  });
  // Every outcome of this study from the start of the results stream, so an earlier start's finished runs are collected too.
  const outcomes = await (await js.consumers.get(RESULTS_STREAM, { filter_subjects: resultsSubject(key) })).consume();
  const collecting = (async () => {
    for await (const m of outcomes) {
      try {
        await onOutcome(parseOutcome(m.data));
      } catch (e) {
        stream.write(`ignored an outcome: ${(e as Error).message}\n`);
      }
    }
  })();
  const onSigint = (): void => {
    outcome.interrupted = true;
    wake();
  };
  process.on('SIGINT', onSigint);
  const hint = setTimeout(
    () => {
      if (!anyStarted && pending.size > 0)
        stream.write(`no worker has taken a run yet: start some with 'airlora worker --nats ${nats.url}'\n`);
    },
    (nats.idleHintS ?? 20) * 1000,
  );
  try {
    // Jobs of an earlier start are replaced by this start's (a run still in flight there finishes as a duplicate).
    await jsm.streams.purge(RUNS_STREAM, { filter: runsSubject(key) });
    for (const run of todo) {
      if (!pending.has(run.id)) continue; // collected from an earlier start's outcome meanwhile
      const job: RunJob = {
        airlora: version,
        study: key,
        runId: run.id,
        index: plan.runs.indexOf(run),
        digest: run.digest,
        scenario: run.scenario,
        workers: outcome.workers,
        bucket: bucketName(key),
        ...(nats.shared ? { shared: options.outDir } : {}),
      };
      jobSeqs.set((await js.publish(runsSubject(key), encode(job))).seq, run.id);
      outcome.started += 1;
    }
    check();
    await settled;
  } finally {
    clearTimeout(hint);
    process.off('SIGINT', onSigint);
    outcomes.stop();
    await collecting;
    started.unsubscribe();
    givenUp.unsubscribe();
  }
  progress.done();
  if (pending.size === 0) {
    // Nothing left to wait for: the server keeps none of this study (given-up jobs, outcomes, objects).
    await jsm.streams.purge(RUNS_STREAM, { filter: runsSubject(key) });
    await jsm.streams.purge(RESULTS_STREAM, { filter: resultsSubject(key) });
    await store?.destroy();
  }
  if (duplicates > 0)
    stream.write(`${duplicates} duplicate deliver${duplicates === 1 ? 'y' : 'ies'} finished with the same log hash (ignored)\n`);
  outcome.parallel = workersSeen.size;
  outcome.failed = [...failures].map(([id, why]) => ({ id, why }));
  for (const r of plan.runs) if (finishedIds.has(r.id)) outcome.results.push(readRunResult(r, runDir(options.outDir, r)));
  return outcome;
}
