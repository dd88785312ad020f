/**
 * What the server does with a round's results, in Flower's shape: `configureFit`
 * says what each admitted device starts from, `aggregateFit(round, results, failures)` folds the
 * results into the new global model. Failures are values, not exceptions. Device selection is the
 * scheduler's job, never the strategy's.
 */
import { aggregateHeads, aggregateLora } from '../models';
import type { Weights } from './roundMessages';

export interface GlobalModel {
  lora: Weights;
  head: Weights;
}

/** One device's contribution to a round. */
export interface FitResult {
  device: string;
  /** |D_k|, the FedAvg weight. */
  dataSize: number;
  lora: Weights;
  head: Weights;
}

/** An admitted device whose work is not aggregated, and why (deadline, dropout, failure). */
export interface FitFailure {
  device: string;
  reason: string;
}

export interface Strategy {
  readonly name: string;
  configureFit(round: number, global: GlobalModel, admitted: readonly string[]): Map<string, GlobalModel>;
  aggregateFit(round: number, results: readonly FitResult[], failures: readonly FitFailure[], global: GlobalModel): GlobalModel;
}

/**
 * FedAvg weighted by data size (MODEL.md §2 step 5); `mode` 'fedavg' averages A and B separately,
 * 'fedavg-product' averages B·A and refactors it to rank r. With no results the global model stays.
 */
export function createFedAvg(mode: 'fedavg' | 'fedavg-product', rank: number): Strategy {
  return {
    name: mode,
    configureFit: (_round, global, admitted) => new Map(admitted.map((id) => [id, global])),
    aggregateFit(_round, results, _failures, global) {
      if (results.length === 0) return global;
      // A fixed order (by device id), so the sum does not depend on arrival order.
      const ordered = [...results].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
      return {
        lora: aggregateLora(
          ordered.map((r) => ({ lora: r.lora, weight: r.dataSize })),
          mode,
          rank,
        ),
        head: aggregateHeads(ordered.map((r) => ({ head: r.head, weight: r.dataSize }))),
      };
    },
  };
}
