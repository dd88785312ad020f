/**
 * Where a study's run stands, read from its folder alone: finished (its summary present, not
 * interrupted, its report written, and its log verified to its end with the summary's last hash),
 * resumable (a checkpoint), or to start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEventLog } from '../../runtime/eventLog';

export type RunState = { state: 'finished' } | { state: 'resume'; why: string } | { state: 'start'; why: string };

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a run folder does not hold a finished run, or undefined when it does. */
function unfinished(dir: string): string | undefined {
  const summary = readJson(join(dir, 'summary.json'));
  if (!summary) return 'no summary';
  if (summary.interrupted === true) return 'interrupted';
  if (!existsSync(join(dir, 'report.html'))) return 'no report';
  if (!existsSync(join(dir, 'events.jsonl'))) return 'no event log';
  const log = readEventLog(join(dir, 'events.jsonl'));
  if (log.error) return `event log: ${log.error.message}`;
  if (log.hash !== summary.logHash)
    return `the log's last hash ${String(log.hash).slice(0, 16)}… is not the summary's ${String(summary.logHash).slice(0, 16)}…`;
  return undefined;
}

/** The state of the run in `dir` (which may not exist yet). */
export function runState(dir: string): RunState {
  if (!existsSync(dir)) return { state: 'start', why: 'new' };
  const why = unfinished(dir);
  if (why === undefined) return { state: 'finished' };
  return existsSync(join(dir, 'checkpoints', 'checkpoint.json')) ? { state: 'resume', why } : { state: 'start', why };
}
