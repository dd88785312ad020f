/**
 * Which aggregation strategy the server uses (`training.aggregation` of a scenario file, INTERFACE.md):
 * a built-in one or a module (README "Plug-ins"). Lives with the server actor; app/scenario.ts uses it.
 */
import { z } from 'zod';

/** `training.aggregation`: a built-in strategy, or one from a module exporting `createStrategy(params)` (README "Plug-ins"). */
export const strategySpecSchema = z.union(
  [z.enum(['fedavg', 'fedavg-product']), z.strictObject({ module: z.string().min(1), params: z.unknown().optional() })],
  {
    error: 'must be fedavg, fedavg-product or { "module": PATH, "params": {…} }',
  },
);
export type StrategySpec = z.infer<typeof strategySpecSchema>;
