/**
 * A progress bar for long runs. It measures the simulator itself, so it is the one
 * place in the report code that reads the wall clock.
 */
import { performance } from 'node:perf_hooks';

/** Where the bar is drawn: process.stdout or any writable with an optional TTY flag. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Rounds in the run. */
  total: number;
  /** Defaults to process.stdout. On a stream that is not a TTY a plain line every tenth of the rounds, and a final one by `done()`. */
  stream?: ProgressStream;
  /** Rounds already done before this process started (a resumed run), so the rate counts only new ones. */
  startRound?: number;
  /** Milliseconds since some origin; defaults to performance.now (injectable for tests). */
  nowMs?: () => number;
  /** Least time between two redraws on a TTY, in milliseconds. */
  minIntervalMs?: number;
}

export interface ProgressUpdate {
  /** The round just finished, counted from 1 (so `round === total` at the end). */
  round: number;
  /** Test accuracy after this round. */
  accuracy: number;
  /** Virtual time at the end of this round. */
  virtualTimeS: number;
}

export interface Progress {
  update(p: ProgressUpdate): void;
  /** Draws the last state and ends the line (prints a single summary line on a non-TTY). */
  done(): void;
}

/** "1h02m", "3m05s", "12.3s". */
export function formatDurationS(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(r).padStart(2, '0')}s`;
}

/** A progress bar: round/total, accuracy so far, virtual time, rounds per second and ETA. */
export function createProgress(options: ProgressOptions): Progress {
  const { total, startRound = 0, minIntervalMs = 100 } = options;
  const stream: ProgressStream = options.stream ?? process.stdout;
  const nowMs = options.nowMs ?? (() => performance.now());
  const tty = stream.isTTY === true;
  const startMs = nowMs();
  let last: ProgressUpdate | undefined;
  let lastDrawMs = Number.NEGATIVE_INFINITY;
  let finished = false;

  const line = (p: ProgressUpdate | undefined, final: boolean): string => {
    const round = p?.round ?? startRound;
    const elapsedS = (nowMs() - startMs) / 1000;
    const rate = elapsedS > 0 ? (round - startRound) / elapsedS : 0;
    const parts = [
      `round ${round}/${total}`,
      `acc ${p ? (p.accuracy * 100).toFixed(1) + '%' : '-'}`,
      `virtual ${p ? formatDurationS(p.virtualTimeS) : '-'}`,
      `${rate.toFixed(rate >= 10 ? 0 : 2)} rounds/s`,
      final ? `wall ${formatDurationS(elapsedS)}` : `ETA ${rate > 0 ? formatDurationS((total - round) / rate) : '?'}`,
    ];
    const text = parts.join(' | ');
    if (!tty) return text;
    const columns = stream.columns ?? 80;
    const barWidth = Math.max(0, Math.min(30, columns - text.length - 4));
    if (barWidth < 5) return text.slice(0, Math.max(0, columns - 1));
    const filled = total > 0 ? Math.round((barWidth * Math.min(round, total)) / total) : barWidth;
    return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${text}`;
  };

  const draw = (final: boolean): void => {
    // \r returns to the line start, ESC[2K clears it: the bar redraws in place.
    stream.write(`\r\x1b[2K${line(last, final)}${final ? '\n' : ''}`);
    lastDrawMs = nowMs();
  };

  return {
    update(p: ProgressUpdate): void {
      if (finished) return;
      const before = last?.round ?? startRound;
      last = p;
      if (!tty) {
        // A plain line each time a tenth of the rounds is crossed, so a piped run is not silent for minutes; done() writes the last.
        const tenth = Math.max(1, Math.ceil(total / 10));
        if (p.round < total && Math.floor(p.round / tenth) > Math.floor(before / tenth)) stream.write(`${line(p, false)}\n`);
        return;
      }
      if (nowMs() - lastDrawMs >= minIntervalMs || p.round >= total) draw(false);
    },
    done(): void {
      if (finished) return;
      finished = true;
      if (tty) draw(true);
      else stream.write(`${line(last, true)}\n`);
    },
  };
}
