/** Evaluator actor (MODEL.md §1): scores the aggregated model on the held-out test set after each round. */
import type { ActorKind } from '../runtime/actor';
import { evaluate } from '../models';
import type { Evaluation, Weights } from './protocol';
import { DRIVER_ID } from './params';
import { simulationResources } from './resources';

export interface EvaluatorParams {
  /** Test samples scored each round. */
  evalSamples: number;
}

export const evaluatorKind: ActorKind<EvaluatorParams & { evaluated: number }, EvaluatorParams> = {
  kind: 'evaluator',
  resources: ['simulation'],
  initialState: (params) => ({ ...params, evaluated: 0 }),
  transition(state, message, ctx) {
    if (message.type !== 'global-model') throw new Error(`${ctx.self}: unexpected message ${message.type}`);
    const m = message.body as { slot: number; lora: Weights; head: Weights };
    const { foundation, test } = simulationResources(ctx);
    const score = evaluate(foundation, m.lora, m.head, test, state.evalSamples);
    const evaluation: Evaluation = { slot: m.slot, accuracy: score.accuracy, loss: score.loss };
    return [{ ...state, evaluated: state.evaluated + 1 }, [{ kind: 'send', to: DRIVER_ID, type: 'evaluation', body: evaluation }]] as const;
  },
};
