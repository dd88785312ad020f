/** The small study the study and cluster tests run: quick.json for 2 rounds, two policies, the given seeds. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = join(__dirname, '..', 'bin', 'airlora.js');
export const QUICK = join(__dirname, '..', 'scenarios', 'quick.json');

/** Writes `two-policies.json` into `dir` and returns its path. */
export function writeTwoPolicyStudy(dir: string, seeds: readonly number[]): string {
  const file = join(dir, 'two-policies.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'two-policies',
      scenario: QUICK,
      set: { 'training.rounds': 2, 'runtime.checkpointEvery': 1 },
      grid: { 'scheduler.policy': ['lyapunov', 'myopic'] },
      seeds,
    }),
  );
  return file;
}
