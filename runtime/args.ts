/** Command-line parsing for `airlora` (INTERFACE.md): unknown options are errors that name the option. */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  /** Takes a value (`--out DIR`), else a flag. */
  value: boolean;
  /** May be given more than once (`--set a=1 --set b=2`). */
  repeat?: boolean;
}

export interface ParsedArgs {
  positional: string[];
  options: Record<string, string | string[] | true>;
}

/** Parses `argv` against `spec`; `--name=value` and `--name value` both work. */
export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>, command: string): ParsedArgs {
  const positional: string[] = [];
  const options: Record<string, string | string[] | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    const option = spec[name];
    if (!option) throw new UsageError(`${command}: unknown option --${name} (known: ${Object.keys(spec).map((k) => `--${k}`).join(', ') || 'none'})`);
    if (!option.value) {
      options[name] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${command}: option --${name} needs a value`);
    if (option.repeat) options[name] = [...((options[name] as string[] | undefined) ?? []), value];
    else options[name] = value;
  }
  return { positional, options };
}

/** An integer option, checked. */
export function intOption(args: ParsedArgs, name: string, command: string, min = 0): number | undefined {
  const raw = args.options[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${command}: --${name} must be an integer >= ${min}, got ${String(raw)}`);
  return n;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const raw = args.options[name];
  return typeof raw === 'string' ? raw : undefined;
}

export function listOption(args: ParsedArgs, name: string): string[] {
  const raw = args.options[name];
  return Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
}
