/**
 * Plug-in modules (README "Plug-ins"): a scheduling policy, an aggregation strategy or a fading model from a
 * CommonJS module (plain JS, or TypeScript compiled to JS), loaded with `require`, so that it loads
 * in a worker thread as well as in the main thread. The file's sha256 goes into the log header, so
 * that a replay notices a changed module.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { packageRoot } from './packageInfo';

/** Prefix of the plug-ins shipped in the package's examples/ folder (`airlora:proportional-fair`). */
export const SHIPPED_PREFIX = 'airlora:';

/** What a plug-in module is for, as error messages name it. */
export type PluginKind = 'policy' | 'strategy' | 'fading';

/** A plug-in module that cannot be used (missing, without its factory, a wrong shape); exit status 2. */
export class PluginModuleError extends Error {
  override readonly name = 'PluginModuleError';
  readonly exitCode = 2;
  constructor(
    readonly kind: PluginKind,
    readonly module: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${kind} module ${module}: ${problem}`, options);
  }
}

/** `airlora:NAME` as it is, an absolute path as it is, a relative one resolved against `baseDir` (the scenario file's folder). */
export function resolvePluginModule(module: string, baseDir: string): string {
  if (module.startsWith(SHIPPED_PREFIX) || isAbsolute(module)) return module;
  return resolve(baseDir, module);
}

/** The file `require` loads for `module` (Node completes the extension). */
export function pluginModuleFile(kind: PluginKind, module: string): string {
  const path = module.startsWith(SHIPPED_PREFIX) ? join(packageRoot(), 'examples', module.slice(SHIPPED_PREFIX.length)) : module;
  try {
    return require.resolve(path);
  } catch (cause) {
    throw new PluginModuleError(kind, module, `cannot be found (${path})`, { cause });
  }
}

/** sha256 of the module file's bytes (files it requires in turn are not included). */
export function pluginModuleDigest(kind: PluginKind, module: string): string {
  return createHash('sha256')
    .update(readFileSync(pluginModuleFile(kind, module)))
    .digest('hex');
}

/** The function `exportName` of `module` (or of its default export). */
export function pluginFactory(kind: PluginKind, module: string, exportName: string): (params: unknown) => unknown {
  const file = pluginModuleFile(kind, module);
  let exports: Record<string, unknown> & { default?: Record<string, unknown> };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module path comes from the scenario: known only at run time
    exports = require(file) as typeof exports;
  } catch (cause) {
    throw new PluginModuleError(
      kind,
      module,
      `cannot be loaded (${(cause as Error).message}); ES modules and uncompiled TypeScript do not load here: give a CommonJS .js file`,
      { cause },
    );
  }
  const factory = exports[exportName] ?? exports.default?.[exportName];
  if (typeof factory !== 'function') throw new PluginModuleError(kind, module, `exports no ${exportName}(params) function`);
  return factory as (params: unknown) => unknown;
}
