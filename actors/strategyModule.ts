/**
 * Aggregation strategies from modules (README "Plug-ins"), in Flower's shape: a
 * module exporting `createStrategy(params)` that returns `{ name, configureFit?, aggregateFit }`
 * (actors/strategy.ts `Strategy`; `configureFit` defaults to every admitted device starting from the
 * global model). Loaded by util/pluginModule.ts, in whichever thread runs the server.
 */
import type { StrategySpec } from './strategyChoice';
import { pluginFactory, PluginModuleError } from '../util/pluginModule';
import { createFedAvg, type Strategy } from './strategy';

/** What a strategy module's `createStrategy(params)` returns. */
export type PluginStrategy = Omit<Strategy, 'configureFit'> & Partial<Pick<Strategy, 'configureFit'>>;

// One strategy object per (module, params) and thread: the server asks for it at every message.
const loaded = new Map<string, Strategy>();

/** The strategy `spec` names: FedAvg of the factors or of their product (MODEL.md §2 step 5), or a module's. */
export function createStrategy(spec: StrategySpec, rank: number): Strategy {
  if (typeof spec !== 'object') return createFedAvg(spec, rank);
  const key = `${spec.module}\0${JSON.stringify(spec.params ?? null)}`;
  const cached = loaded.get(key);
  if (cached) return cached;
  const made = pluginFactory(
    'strategy',
    spec.module,
    'createStrategy',
  )({ ...((spec.params as object | undefined) ?? {}), rank }) as Partial<PluginStrategy> | null;
  if (!made || typeof made !== 'object' || typeof made.name !== 'string' || typeof made.aggregateFit !== 'function')
    throw new PluginModuleError(
      'strategy',
      spec.module,
      'createStrategy(params) must return { name: string, aggregateFit(round, results, failures, global), configureFit? }',
    );
  const strategy: Strategy = {
    name: made.name,
    configureFit: made.configureFit
      ? made.configureFit.bind(made)
      : (_round, global, admitted) => new Map(admitted.map((id) => [id, global])),
    aggregateFit: made.aggregateFit.bind(made),
  };
  loaded.set(key, strategy);
  return strategy;
}
