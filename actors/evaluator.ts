/**
 * Evaluator shard (MODEL.md §1): scores the aggregated model on its slice of the held-out test set
 * after each round. Slices are fixed by the shard index, and the driver adds the shards' counts in
 * shard order, so the accuracy does not depend on how many workers scored them.
 */
import { fromHandlers, senderOf, type ActorKind, type HandlerTable } from '../runtime/actor';
import { selectRows } from '../models';
import type { DriverMessages, Evaluation, EvaluatorMessages } from './roundMessages';
import { DRIVER_ID } from './actorParams';
import { simulationResources } from './resources';

export interface EvaluatorParams {
  /** This shard's index j and the number of shards: it scores samples [j n / E, (j+1) n / E). */
  shard: number;
  shards: number;
  /** Test samples scored each round, n, over all shards. */
  evalSamples: number;
}

/** The test rows scored by shard `shard` of `shards`. */
export function evaluatorSlice(shard: number, shards: number, samples: number): number[] {
  const from = Math.floor((shard * samples) / shards);
  const to = Math.floor(((shard + 1) * samples) / shards);
  return Array.from({ length: to - from }, (_, i) => from + i);
}

export type EvaluatorState = EvaluatorParams & { evaluated: number };

const toDriver = senderOf<DriverMessages>();

/** The evaluator's handler table (actors/roundMessages.ts). */
export const evaluatorHandlers: HandlerTable<EvaluatorState, EvaluatorMessages> = {
  'global-model': (state, message, ctx) => {
    const m = message.body;
    const { compute, test } = simulationResources(ctx);
    const rows = evaluatorSlice(state.shard, state.shards, Math.min(state.evalSamples, test.count));
    const score = rows.length > 0 ? compute.evaluate(m.lora, m.head, selectRows(test, rows)) : { accuracy: 0, loss: 0 };
    const evaluation: Evaluation = {
      slot: m.slot,
      shard: state.shard,
      samples: rows.length,
      correct: Math.round(score.accuracy * rows.length),
      lossSum: score.loss * rows.length,
    };
    return [{ ...state, evaluated: state.evaluated + 1 }, [toDriver(DRIVER_ID, 'evaluation', evaluation)]];
  },
};

export const evaluatorKind: ActorKind<EvaluatorState, EvaluatorParams> = {
  kind: 'evaluator',
  resources: ['simulation'],
  initialState: (params) => ({ ...params, evaluated: 0 }),
  transition: fromHandlers(evaluatorHandlers),
};
