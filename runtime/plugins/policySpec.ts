/**
 * `scheduler.policy` beyond the built-in names (README "Plug-ins"): a module or a process. Paths are
 * resolved once, when the scenario is loaded, so the scenario in a log header or a checkpoint
 * names the same files wherever the run is replayed or resumed from.
 */
import { basename, isAbsolute, resolve } from 'node:path';
import { POLICY_NAMES, type PolicySpec, type Scenario } from '../scenario';
import { loadModulePolicy, policyModuleDigest, resolvePolicyModule, SHIPPED_PREFIX } from '../../scheduler/plugins/modulePolicy';

/** The spec with relative paths made absolute against `baseDir` (the scenario file's folder), and a process's cwd filled in. */
export function resolvePolicySpec(spec: PolicySpec, baseDir: string): PolicySpec {
  if (typeof spec !== 'object') return spec;
  if ('module' in spec) return { ...spec, module: resolvePolicyModule(spec.module, baseDir) };
  return { ...spec, cwd: spec.cwd === undefined ? resolve(baseDir) : resolve(baseDir, spec.cwd) };
}

/** The scenario with its policy's paths resolved against `baseDir`. */
export function withResolvedPolicy(scenario: Scenario, baseDir: string): Scenario {
  return { ...scenario, scheduler: { ...scenario.scheduler, policy: resolvePolicySpec(scenario.scheduler.policy, baseDir) } };
}

/** A short name for summaries, reports and folder names: the built-in name, the module policy's own name, or the process's script. */
export function policyLabel(spec: PolicySpec): string {
  if (typeof spec !== 'object') return spec;
  if ('module' in spec) {
    try {
      return loadModulePolicy(spec.module, spec.params).name;
    } catch {
      return basename(spec.module).replace(/\.[cm]?js$/, '');
    }
  }
  const script = spec.command.slice(1).find((a) => /[./\\]/.test(a) && !a.startsWith('-')) ?? spec.command[0]!;
  return basename(script).replace(/\.\w+$/, '');
}

/**
 * A policy given on the command line (`--policy`, `--policies`): a built-in name, a Python script
 * (run as `python3 SCRIPT`, a process policy), else a module path; paths relative to the working directory.
 */
export function policyFromArgument(arg: string): PolicySpec {
  if ((POLICY_NAMES as readonly string[]).includes(arg)) return arg as PolicySpec;
  if (arg.endsWith('.py')) return { command: ['python3', resolve(arg)], timeoutS: 10, cwd: process.cwd() };
  return { module: arg.startsWith(SHIPPED_PREFIX) || isAbsolute(arg) ? arg : resolve(arg) };
}

/** Whether `arg` looks like a module or script path rather than a (misspelt) policy name. */
export function looksLikeModule(arg: string): boolean {
  return arg.startsWith(SHIPPED_PREFIX) || /[\\/]/.test(arg) || /\.([cm]?js|py)$/.test(arg);
}

/**
 * Header fields for the policy (INTERFACE.md "events.jsonl"): a module policy's file digest, so a
 * replay with a changed module is refused. A process policy's script is not digested here: a run
 * stopped by a broken script must resume, once it is fixed, into the log of the fixed script.
 */
export function policyHeaderFields(spec: PolicySpec): { policyDigest?: { module: string; sha256: string } } {
  if (typeof spec !== 'object' || !('module' in spec)) return {};
  return { policyDigest: { module: spec.module, sha256: policyModuleDigest(spec.module) } };
}
