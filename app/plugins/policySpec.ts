/**
 * `scheduler.policy` beyond the built-in names (README "Plug-ins"): a module or a process. Paths are
 * resolved once, when the scenario is loaded, so the scenario in a log header or a checkpoint
 * names the same files wherever the run is replayed or resumed from.
 */
import { basename, isAbsolute, resolve } from 'node:path';
import { POLICY_NAMES, type PolicySpec, type Scenario, type StrategySpec } from '../scenario';
import { loadModulePolicy } from '../../scheduler/plugins/modulePolicy';
import { pluginModuleDigest, resolvePluginModule, SHIPPED_PREFIX } from '../../util/pluginModule';

/** The spec with relative paths made absolute against `baseDir` (the scenario file's folder), and a process's cwd filled in. */
export function resolvePolicySpec(spec: PolicySpec, baseDir: string): PolicySpec {
  if (typeof spec !== 'object') return spec;
  if ('module' in spec) return { ...spec, module: resolvePluginModule(spec.module, baseDir) };
  return { ...spec, cwd: spec.cwd === undefined ? resolve(baseDir) : resolve(baseDir, spec.cwd) };
}

/** The scenario with its plug-ins' paths (policy, aggregation strategy, fading model) resolved against `baseDir`. */
export function withResolvedPlugins(scenario: Scenario, baseDir: string): Scenario {
  const aggregation: StrategySpec =
    typeof scenario.training.aggregation === 'object'
      ? { ...scenario.training.aggregation, module: resolvePluginModule(scenario.training.aggregation.module, baseDir) }
      : scenario.training.aggregation;
  const fading =
    scenario.channel.fading.module === undefined
      ? scenario.channel.fading
      : { ...scenario.channel.fading, module: resolvePluginModule(scenario.channel.fading.module, baseDir) };
  return {
    ...scenario,
    channel: { ...scenario.channel, fading },
    scheduler: { ...scenario.scheduler, policy: resolvePolicySpec(scenario.scheduler.policy, baseDir) },
    training: { ...scenario.training, aggregation },
  };
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
 * Header fields for the plug-ins (INTERFACE.md "events.jsonl"): a module policy's, a module
 * strategy's and a fading module's file digests, so a replay with a changed module is refused. A process policy's script is not digested here: a run
 * stopped by a broken script must resume, once it is fixed, into the log of the fixed script.
 */
export function pluginHeaderFields(
  scenario: Scenario,
): Partial<Record<'policyDigest' | 'strategyDigest' | 'fadingDigest', { module: string; sha256: string }>> {
  const policy = scenario.scheduler.policy;
  const strategy = scenario.training.aggregation;
  const fading = scenario.channel.fading.module;
  return {
    ...(fading !== undefined ? { fadingDigest: { module: fading, sha256: pluginModuleDigest('fading', fading) } } : {}),
    ...(typeof policy === 'object' && 'module' in policy
      ? { policyDigest: { module: policy.module, sha256: pluginModuleDigest('policy', policy.module) } }
      : {}),
    ...(typeof strategy === 'object'
      ? { strategyDigest: { module: strategy.module, sha256: pluginModuleDigest('strategy', strategy.module) } }
      : {}),
  };
}
