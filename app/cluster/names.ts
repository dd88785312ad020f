/**
 * The NATS names airlora uses (README "Clusters"): one JetStream work-queue stream of runs shared
 * by every study, one durable pull consumer every worker pulls from, a results stream, and an
 * object store bucket per study for the run folders. Subjects carry the study's key, so studies
 * on one server never see each other's runs.
 */
import { canonicalJson, sha256Hex } from '../../runtime/canonical';
import type { StudyPlan } from '../study/plan';

/** Work-queue stream of run jobs (subjects `airlora.runs.<study key>`). */
export const RUNS_STREAM = 'AIRLORA_RUNS';
/** The durable pull consumer the workers share. */
export const WORKERS_CONSUMER = 'airlora-workers';
/** Stream of run outcomes (subjects `airlora.results.<study key>`): kept, so a study restarted later still collects them. */
export const RESULTS_STREAM = 'AIRLORA_RESULTS';

export const runsSubject = (studyKey: string): string => `airlora.runs.${studyKey}`;
export const resultsSubject = (studyKey: string): string => `airlora.results.${studyKey}`;
/** Core-NATS progress notes (a run started on a worker): not kept, only for the display. */
export const progressSubject = (studyKey: string): string => `airlora.progress.${studyKey}`;
/** The object store bucket of a study's run folders. */
export const bucketName = (studyKey: string): string => `airlora-${studyKey}`;
/** The server's advisory when a job has been delivered max_deliver times without an ack. */
export const MAX_DELIVERIES_ADVISORY = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${RUNS_STREAM}.${WORKERS_CONSUMER}`;

/** A study's key: its name, the digests of its runs and its folder, so an edited study (or a second folder of it) is another study. */
export function studyKey(plan: StudyPlan, outDir: string): string {
  return sha256Hex(canonicalJson({ name: plan.study.name, runs: plan.runs.map((r) => r.digest), outDir })).slice(0, 16);
}
