/**
 * Evaluator (MODEL.md §1): scores the aggregated model on its slice of the held-out test set after
 * each round. Slices are fixed by the evaluator's index, and the driver adds the slices' counts in
 * index order, so the accuracy does not depend on how many workers scored them. (The params and the
 * score call the index `shard`, as the event log has always written it; the edge server's actor kind
 * is what "shard" means everywhere else.)
 */
import { fromHandlers, senderOf, type ActorKind, type HandlerTable } from '../runtime/actor';
import { selectRows } from '../models';
import type { DriverMessages, Evaluation, EvaluatorMessages } from './roundMessages';
import { DRIVER_ID } from './actorParams';
import { simulationResources } from './resources';

export interface EvaluatorParams {
  /** This evaluator's slice index j and the number of evaluators E: it scores samples [j n / E, (j+1) n / E). Named as in the log. */
  shard: number;
  shards: number;
  /** Test samples scored each round, n, over all evaluators. */
  evalSamples: number;
}

/** The test rows scored by evaluator `index` of `evaluators`. */
export function evaluatorSlice(index: number, evaluators: number, samples: number): number[] {
  const from = Math.floor((index * samples) / evaluators);
  const to = Math.floor(((index + 1) * samples) / evaluators);
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
