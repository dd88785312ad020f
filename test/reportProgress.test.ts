import { createProgress, formatDurationS, type ProgressStream } from '../app/report';

/** A stream that records what is written; a TTY or not, as asked. */
function recorder(isTTY: boolean, columns = 100): ProgressStream & { chunks: string[] } {
  const chunks: string[] = [];
  return { isTTY, columns, chunks, write: (chunk: string) => chunks.push(chunk) };
}

/** A clock the test moves by hand, in milliseconds. */
function manualClock(): { nowMs: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { nowMs: () => t, advance: (ms) => (t += ms) };
}

describe('createProgress', () => {
  it('writes a plain line every tenth of the rounds and one final line to a stream that is not a TTY', () => {
    // Prepare
    const stream = recorder(false);
    const clock = manualClock();
    const progress = createProgress({ total: 20, stream, nowMs: clock.nowMs });

    // Execute
    for (let round = 1; round <= 20; round++) {
      clock.advance(500);
      progress.update({ round, accuracy: 0.02 * round + 0.4, virtualTimeS: 1.5 * round });
    }
    const beforeDone = stream.chunks.length;
    progress.done();
    progress.done();

    // Assert: rounds 2, 4, ..., 18 (a tenth of 20 is 2), then the final line; no escape codes
    expect(beforeDone).toBe(9);
    expect(stream.chunks[0]).toBe('round 2/20 | acc 44.0% | virtual 3.0s | 2.00 rounds/s | ETA 9.0s\n');
    expect(stream.chunks[8]).toContain('round 18/20');
    expect(stream.chunks.join('')).not.toContain('\x1b');
    expect(stream.chunks[9]).toBe('round 20/20 | acc 80.0% | virtual 30.0s | 2.00 rounds/s | wall 10.0s\n');
    expect(stream.chunks).toHaveLength(10);
  });

  it('prints a tenth line when a jump of several rounds crosses it, and only once', () => {
    const stream = recorder(false);
    const progress = createProgress({ total: 100, stream, nowMs: manualClock().nowMs, startRound: 35 });
    progress.update({ round: 36, accuracy: 0.5, virtualTimeS: 1 }); // no tenth crossed since 35
    progress.update({ round: 52, accuracy: 0.5, virtualTimeS: 2 }); // crosses 40 and 50: one line
    expect(stream.chunks).toHaveLength(1);
    expect(stream.chunks[0]).toContain('round 52/100');
  });

  it('redraws in place on a TTY, at most once per interval, with rate and ETA', () => {
    const stream = recorder(true);
    const clock = manualClock();
    const progress = createProgress({ total: 100, stream, nowMs: clock.nowMs, minIntervalMs: 100 });

    clock.advance(1000);
    progress.update({ round: 10, accuracy: 0.5, virtualTimeS: 20 });
    clock.advance(10);
    progress.update({ round: 11, accuracy: 0.51, virtualTimeS: 22 }); // within the interval: not drawn

    expect(stream.chunks).toHaveLength(1);
    const first = stream.chunks[0] as string;
    expect(first.startsWith('\r\x1b[2K[')).toBe(true);
    expect(first).toContain('round 10/100 | acc 50.0% | virtual 20.0s | 10 rounds/s | ETA 9.0s');
    expect(first).not.toContain('\n');

    clock.advance(8990);
    progress.update({ round: 100, accuracy: 0.9, virtualTimeS: 200 });
    progress.done();
    const last = stream.chunks[stream.chunks.length - 1] as string;
    expect(last).toMatch(/\[#+\] round 100\/100 \| acc 90\.0% \| virtual 3m20s \| 10 rounds\/s \| wall 10\.0s\n$/);
  });

  it('counts the rate from the round a resumed run started at', () => {
    const stream = recorder(false);
    const clock = manualClock();
    const progress = createProgress({ total: 100, stream, nowMs: clock.nowMs, startRound: 50 });
    clock.advance(10_000);
    progress.update({ round: 100, accuracy: 0.9, virtualTimeS: 10 });
    progress.done();
    expect(stream.chunks[0]).toContain('5.00 rounds/s');
  });

  it('formats durations for people', () => {
    expect([formatDurationS(12.34), formatDurationS(185), formatDurationS(3720), formatDurationS(Number.NaN)]).toEqual([
      '12.3s',
      '3m05s',
      '1h02m',
      '?',
    ]);
  });
});
