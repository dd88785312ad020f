/**
 * What travels between a study and its workers (README "Clusters"): a job per run on the
 * work-queue stream, an outcome per finished or given-up run on the results stream, a progress
 * note when a worker starts a run. JSON, checked with zod on receipt: a message from another
 * airlora version is refused with both versions named, never half-read.
 */
import { z } from 'zod';
import type { Scenario } from '../scenario';

const jobSchema = z.object({
  airlora: z.string(),
  study: z.string(),
  runId: z.string(),
  /** The run's index in the study's plan. */
  index: z.number().int().min(0),
  digest: z.string(),
  /** The resolved scenario, validated by the study (plan.ts). */
  scenario: z.record(z.string(), z.unknown()),
  /** Worker threads of the run. */
  workers: z.number().int().min(0),
  /** The study folder when every worker sees it at this path (then the run is written there); else the object store bucket. */
  shared: z.string().optional(),
  bucket: z.string(),
});

/** One run for a worker to execute. */
export interface RunJob extends Omit<z.infer<typeof jobSchema>, 'scenario'> {
  scenario: Scenario;
}

const outcomeSchema = z.object({
  airlora: z.string(),
  study: z.string(),
  runId: z.string(),
  /** `host:pid` of the worker. */
  worker: z.string(),
  /** Which delivery of the job this was (1 = first). */
  delivery: z.number().int().min(1),
  status: z.enum(['finished', 'failed']),
  /** A finished run: its log's last hash (summary.json logHash), how duplicates are told apart. */
  logHash: z.string().optional(),
  /** A finished run outside a shared folder: the object names of its files under `prefix`. */
  prefix: z.string().optional(),
  files: z.array(z.string()).optional(),
  /** A failed run: why (exit status and last output lines). */
  why: z.string().optional(),
});

/** A run's outcome as a worker reports it. */
export type RunOutcome = z.infer<typeof outcomeSchema>;

/** A progress note: a worker started a delivery of a run. */
export interface RunStarted {
  runId: string;
  worker: string;
  delivery: number;
}

/** A message that is not what this version of airlora sends. */
export class ClusterMessageError extends Error {
  override readonly name = 'ClusterMessageError';
  constructor(message: string, options?: { cause?: unknown; about?: { study: string; runId: string } }) {
    super(message, options);
    this.about = options?.about;
  }
  /** The study and run the message names, when it could be read that far (a job from another version). */
  readonly about: { study: string; runId: string } | undefined;
}

function parse<T>(schema: z.ZodType<T>, data: Uint8Array, what: string, version?: string): T {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch (cause) {
    throw new ClusterMessageError(`${what} is not JSON (${(cause as Error).message})`, { cause });
  }
  const { airlora: sender, study, runId } = (json ?? {}) as { airlora?: unknown; study?: unknown; runId?: unknown };
  const about = typeof study === 'string' && typeof runId === 'string' ? { study, runId } : undefined;
  if (version !== undefined && typeof sender === 'string' && sender !== version)
    throw new ClusterMessageError(`${what} comes from airlora ${sender}; this is airlora ${version}: run one version across the cluster`, {
      about,
    });
  const result = schema.safeParse(json);
  if (!result.success)
    throw new ClusterMessageError(
      `${what} is malformed: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return result.data;
}

/** Reads a job; throws ClusterMessageError naming both versions when the study runs another airlora. */
export const parseJob = (data: Uint8Array, version: string): RunJob => parse(jobSchema, data, 'run job', version) as RunJob;
/** Reads an outcome, from any version: a worker that refused a job of another version reports it as a failed outcome. */
export const parseOutcome = (data: Uint8Array): RunOutcome => parse(outcomeSchema, data, 'run outcome');

export const encode = (message: object): Uint8Array => new TextEncoder().encode(JSON.stringify(message));
