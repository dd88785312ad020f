/**
 * Evaluator (MODEL.md §1): scores the aggregated model on its slice of the held-out test set after
 * each round. Slices are fixed by the evaluator's index, and the driver adds the slices' counts in
 * index order, so the accuracy does not depend on how many workers scored them. (The params and the
 * score call the index `shard`, as the event log has always written it; the edge server's actor kind
 * is what "shard" means everywhere else.)
 */
import { fromHandlers, senderOf, type ActorKind, type HandlerTable } from '../runtime/actor';
import { sliceRows } from '../models';
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

/** The first and past-the-last test rows scored by evaluator `index` of `evaluators`: [j n / E, (j+1) n / E). */
export function evaluatorRange(index: number, evaluators: number, samples: number): { from: number; to: number } {
  return { from: Math.floor((index * samples) / evaluators), to: Math.floor(((index + 1) * samples) / evaluators) };
}

export type EvaluatorState = EvaluatorParams & { evaluated: number };

const toDriver = senderOf<DriverMessages>();

/** The evaluator's handler table (actors/roundMessages.ts). */
export const evaluatorHandlers: HandlerTable<EvaluatorState, EvaluatorMessages> = {
  'global-model': (state, message, ctx) => {
    const m = message.body;
    const { compute, test } = simulationResources(ctx);
    const { from, to } = evaluatorRange(state.shard, state.shards, Math.min(state.evalSamples, test.count));
    const samples = to - from;
    // Its rows are contiguous: scored in place (views), not copied out of the test set every round.
    const score = samples > 0 ? compute.evaluate(m.lora, m.head, sliceRows(test, from, to)) : { accuracy: 0, loss: 0 };
    const evaluation: Evaluation = {
      slot: m.slot,
      shard: state.shard,
      samples,
      correct: Math.round(score.accuracy * samples),
      lossSum: score.loss * samples,
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
