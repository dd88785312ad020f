/**
 * A small-scale fading model from a module (README "Plug-ins", MODEL.md §3): `channel.fading.module`
 * names a CommonJS file exporting `createFading(params)`, which returns a `FadingModule`. The
 * module gives |h_k^t|² slot by slot; the large-scale gain, the caching and the checkpointing stay
 * here, as for the built-in models. Its state must be plain JSON: a checkpoint holds it.
 */
import type { RandomStream } from '../util/random';
import { pluginFactory, PluginModuleError } from '../util/pluginModule';

/** What a fading module is handed: the number of devices and its seeded streams (no Math.random). MODEL.md §3. */
export interface FadingContext {
  /** K. */
  readonly deviceCount: number;
  /**
   * The stream of device k in slot t: `random.fork('fading').fork('d<k>').fork('t<t>')` of the
   * channel's stream, the very one the built-in models draw from, so a module re-implementing
   * Rayleigh (`draw(k, t).exponential(1)`) gives the built-in's draws.
   */
  draw(k: number, slot: number): RandomStream;
}

/**
 * A fading model as a module gives it (`createFading(params)` returns one). `step` advances one
 * slot: it gets the state after slot − 1 (`initialState` before slot 0) and returns the state after
 * `slot` and |h_k^slot|² of every device, in device order (E|h|² = 1 keeps the link budget's mean).
 * MODEL.md §3.
 */
export interface FadingModule<S = unknown> {
  /** A short name for messages. */
  readonly name: string;
  /** The state before slot 0: plain JSON (numbers, strings, arrays, objects). */
  initialState(context: FadingContext): S;
  step(state: S, slot: number, context: FadingContext): { readonly state: S; readonly fadingPower: readonly number[] };
}

/** Loads `module` and calls its `createFading(params)`, checking the shape; `PluginModuleError` (exit 2) naming the module. */
export function loadFadingModule(module: string, params: unknown): FadingModule {
  const factory = pluginFactory('fading', module, 'createFading');
  const made = factory(params ?? {}) as Partial<FadingModule> | null;
  if (made === null || typeof made !== 'object' || typeof made.initialState !== 'function' || typeof made.step !== 'function')
    throw new PluginModuleError(
      'fading',
      module,
      'createFading(params) must return { name, initialState(context), step(state, slot, context) }',
    );
  return {
    name: typeof made.name === 'string' ? made.name : module,
    initialState: made.initialState.bind(made),
    step: made.step.bind(made),
  };
}

/** Checks one step's powers: K finite numbers ≥ 0, naming the module and the slot. */
export function checkFadingPower(module: string, slot: number, deviceCount: number, fadingPower: unknown): readonly number[] {
  if (!Array.isArray(fadingPower) || fadingPower.length !== deviceCount)
    throw new PluginModuleError('fading', module, `step(state, ${slot}) must return fadingPower, an array of ${deviceCount} numbers`);
  const bad = fadingPower.findIndex((p) => typeof p !== 'number' || !(p >= 0 && Number.isFinite(p)));
  if (bad >= 0)
    throw new PluginModuleError(
      'fading',
      module,
      `step(state, ${slot}) gave device ${bad} a fading power ${String(fadingPower[bad])}, not a finite number ≥ 0`,
    );
  return fadingPower as number[];
}
