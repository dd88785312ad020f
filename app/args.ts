/**
 * Option parsers for the `airlora` command line (app/cli.ts, built on commander): values are
 * checked where they are parsed, so a bad one is an error that names the option and the rule.
 */
import { InvalidArgumentError } from 'commander';

/** Bad usage of the command line: exit status 2, the message names the option or argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A parser for an integer option of at least `min` (`--workers 2`). */
export function integerAtLeast(min: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}, got ${raw}`);
    return n;
  };
}

/** Collects a repeatable option (`--set a=1 --set b=2`) in the order given. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A comma-separated list (`--policies a,b,c`), empty items dropped. */
export function commaList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
