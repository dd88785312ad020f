/**
 * Scheduling policies from modules (README "Plug-ins"): a module exporting `createPolicy(params)`
 * that returns the `PluginPolicy` interface (util/pluginModule.ts loads it).
 */
import type { PluginPolicy } from './decision';
import { pluginFactory, PluginModuleError } from '../../util/pluginModule';

// One policy object per (module, params) and thread: createPolicy may be costly, and decide is pure.
const loaded = new Map<string, PluginPolicy<unknown>>();

/** The policy `createPolicy(params)` of `module` returns; throws PluginModuleError naming what is wrong. */
export function loadModulePolicy(module: string, params: unknown): PluginPolicy<unknown> {
  const key = `${module}\0${JSON.stringify(params ?? null)}`;
  const cached = loaded.get(key);
  if (cached) return cached;
  const policy = pluginFactory('policy', module, 'createPolicy')(params ?? {}) as Partial<PluginPolicy<unknown>> | null;
  if (
    !policy ||
    typeof policy !== 'object' ||
    typeof policy.name !== 'string' ||
    typeof policy.initialState !== 'function' ||
    typeof policy.decide !== 'function'
  )
    throw new PluginModuleError(
      'policy',
      module,
      'createPolicy(params) must return { name: string, initialState(seed), decide(state, instance, slot) }',
    );
  loaded.set(key, policy as PluginPolicy<unknown>);
  return policy as PluginPolicy<unknown>;
}
