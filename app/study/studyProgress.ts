/**
 * A study's progress: runs finished of the total, the runs in flight and an ETA, redrawn in place
 * on a terminal; elsewhere (a pipe, a CI log) a plain line per finished run. It measures the
 * study's own wall time, so it reads the clock.
 */
import { performance } from 'node:perf_hooks';
import { formatDurationS, type ProgressStream } from '../report';

export interface StudyProgressOptions {
  /** Runs in the study. */
  total: number;
  /** Runs already finished before this start (skipped). */
  finishedBefore: number;
  stream?: ProgressStream;
  nowMs?: () => number;
}

export interface StudyProgress {
  started(id: string): void;
  /** A run ended: finished, stopped by SIGINT (checkpointed) or failed; `note` says more (its wall time, or why). */
  ended(id: string, how: 'finished' | 'stopped' | 'failed', note: string): void;
  done(): void;
}

/** Progress of a study's runs (see the file comment). */
export function createStudyProgress(options: StudyProgressOptions): StudyProgress {
  const { total } = options;
  const stream = options.stream ?? process.stdout;
  const nowMs = options.nowMs ?? (() => performance.now());
  const tty = stream.isTTY === true;
  const startMs = nowMs();
  const inFlight = new Set<string>();
  let finished = options.finishedBefore;
  let endedHere = 0;

  const eta = (): string => {
    const elapsedS = (nowMs() - startMs) / 1000;
    return endedHere > 0 ? formatDurationS((elapsedS / endedHere) * (total - finished)) : '?';
  };
  const redraw = (): void => {
    if (!tty) return;
    const flight = [...inFlight];
    const text = `runs ${finished}/${total} | in flight: ${flight.length > 0 ? flight.join(', ') : '-'} | ETA ${eta()}`;
    const columns = stream.columns ?? 80;
    stream.write(`\r\x1b[2K${text.length >= columns ? `${text.slice(0, columns - 2)}…` : text}`);
  };

  return {
    started(id) {
      inFlight.add(id);
      redraw();
    },
    ended(id, how, note) {
      inFlight.delete(id);
      endedHere += 1;
      if (how === 'finished') finished += 1;
      const line = `run ${how === 'finished' ? `${finished}/${total} finished` : how === 'stopped' ? 'stopped' : 'FAILED'}: ${id} (${note})`;
      if (tty) stream.write(`\r\x1b[2K${line}\n`);
      else stream.write(`${line}\n`);
      redraw();
    },
    done() {
      if (tty) stream.write(`\r\x1b[2K`);
      stream.write(`${finished} of ${total} runs finished in ${formatDurationS((nowMs() - startMs) / 1000)}\n`);
    },
  };
}
