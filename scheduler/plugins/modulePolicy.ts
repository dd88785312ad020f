/**
 * Scheduling policies from modules (README "Plug-ins"): a CommonJS module (plain JS, or TypeScript
 * compiled to JS) exporting `createPolicy(params)` that returns the `Policy` interface. Loaded with
 * `require`, so it loads in a worker thread as well as in the main thread. The module file's
 * sha256 goes into the log header, so that a replay notices a changed module.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { packageRoot } from '../../runtime/eventLog';
import type { PluginPolicy } from './decision';

/** Prefix of the policies shipped in the package's examples/ folder (`airlora:proportional-fair`). */
export const SHIPPED_PREFIX = 'airlora:';

/** A policy module that cannot be used (missing, no `createPolicy`, a wrong shape); exit status 2. */
export class PolicyModuleError extends Error {
  override readonly name = 'PolicyModuleError';
  readonly exitCode = 2;
  constructor(readonly module: string, problem: string, options?: { cause?: unknown }) {
    super(`policy module ${module}: ${problem}`, options);
  }
}

/** `airlora:NAME` as it is, an absolute path as it is, a relative one resolved against `baseDir` (the scenario file's folder). */
export function resolvePolicyModule(module: string, baseDir: string): string {
  if (module.startsWith(SHIPPED_PREFIX) || isAbsolute(module)) return module;
  return resolve(baseDir, module);
}

/** The file `require` loads for `module` (Node completes the extension). */
export function policyModuleFile(module: string): string {
  const path = module.startsWith(SHIPPED_PREFIX) ? join(packageRoot(), 'examples', module.slice(SHIPPED_PREFIX.length)) : module;
  try {
    return require.resolve(path);
  } catch (cause) {
    throw new PolicyModuleError(module, `cannot be found (${path})`, { cause });
  }
}

/** sha256 of the module file's bytes (files it requires in turn are not included). */
export function policyModuleDigest(module: string): string {
  return createHash('sha256').update(readFileSync(policyModuleFile(module))).digest('hex');
}

// One policy object per (module, params) and thread: createPolicy may be costly, and decide is pure.
const loaded = new Map<string, PluginPolicy<unknown>>();

/** The policy `createPolicy(params)` of `module` returns; throws PolicyModuleError naming what is wrong. */
export function loadModulePolicy(module: string, params: unknown): PluginPolicy<unknown> {
  const key = `${module}\0${JSON.stringify(params ?? null)}`;
  const cached = loaded.get(key);
  if (cached) return cached;
  const file = policyModuleFile(module);
  let exports: { createPolicy?: unknown; default?: { createPolicy?: unknown } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exports = require(file) as typeof exports;
  } catch (cause) {
    throw new PolicyModuleError(module, `cannot be loaded (${(cause as Error).message}); ES modules and uncompiled TypeScript do not load here: give a CommonJS .js file`, { cause });
  }
  const create = exports.createPolicy ?? exports.default?.createPolicy;
  if (typeof create !== 'function') throw new PolicyModuleError(module, 'exports no createPolicy(params) function');
  const policy = (create as (p: unknown) => unknown)(params ?? {}) as Partial<PluginPolicy<unknown>> | null;
  if (!policy || typeof policy !== 'object' || typeof policy.name !== 'string' || typeof policy.initialState !== 'function' || typeof policy.decide !== 'function')
    throw new PolicyModuleError(module, 'createPolicy(params) must return { name: string, initialState(seed), decide(state, instance, slot) }');
  loaded.set(key, policy as PluginPolicy<unknown>);
  return policy as PluginPolicy<unknown>;
}
