/**
 * Edge-server session (MODEL.md §2 step 4): the server's LoRA copy for one admitted device during a
 * round. It runs the frozen encoder (per worker) with that copy on the device's activations, sends
 * the features down, and back-propagates the device's cut gradient into the copy. Placed beside its
 * device, so a device's cut messages stay on one worker while the sessions spread over the pool.
 */
import { produce } from 'immer';
import type { ActorKind, Effect } from '../runtime/actor';
import { airtimeS } from '../channels/inverse';
import { encoderBackward, encoderForward, initOptimizerState } from '../models';
import type { OptimizerState } from '../models/optimizer';
import type { CutMessage, SessionOpen, Upload, Weights } from './protocol';
import { deviceId, SERVER_ID, type PayloadCosts } from './params';
import { simulationResources } from './resources';

export interface SessionParams {
  index: number;
  serverFlops: number;
  costs: PayloadCosts;
  learningRate: number;
}

export interface SessionState {
  params: SessionParams;
  slot: number;
  lora: Weights | null;
  loraOptimizer: OptimizerState | null;
  /** Activations of the iteration in flight, kept for the backward pass. */
  activations: CutMessage | null;
  downlinkRateBps: number;
  admittedCount: number;
  dataSize: number;
}

export const sessionKind: ActorKind<SessionState, SessionParams> = {
  kind: 'session',
  resources: ['simulation'],
  initialState: (params) => ({ params, slot: -1, lora: null, loraOptimizer: null, activations: null, downlinkRateBps: 0, admittedCount: 0, dataSize: 0 }),

  transition(state, message, ctx) {
    let effects: Effect[] = [];
    const next = produce(state, (s) => {
      const p = s.params;
      switch (message.type) {
        case 'global-lora': {
          const m = message.body as SessionOpen;
          s.slot = m.slot;
          s.lora = m.lora;
          s.loraOptimizer = initOptimizerState(m.lora);
          s.downlinkRateBps = m.downlinkRateBps;
          s.admittedCount = m.admittedCount;
          s.dataSize = simulationResources(ctx).shards[p.index]?.length ?? 0;
          return;
        }
        case 'activations': {
          const m = message.body as { slot: number; cut: CutMessage };
          if (!s.lora) throw new Error(`${ctx.self}: activations before the global LoRA`);
          const features = encoderForward(simulationResources(ctx).foundation, s.lora as Weights, m.cut);
          s.activations = m.cut as typeof s.activations;
          // t^srv per iteration = F^srv n / F_s (the server shared equally); then s_f on the downlink. MODEL.md §4.
          const serverS = (p.costs.serverFlopsPerIteration * s.admittedCount) / p.serverFlops;
          const downS = airtimeS(p.costs.featuresBits, s.downlinkRateBps);
          effects = [{ kind: 'send', to: deviceId(p.index), type: 'features', body: { slot: s.slot, cut: features }, delayS: serverS + downS }];
          return;
        }
        case 'cut-gradient': {
          const m = message.body as { slot: number; cut: CutMessage; last: boolean };
          if (!s.lora || !s.loraOptimizer || !s.activations) throw new Error(`${ctx.self}: cut gradient without activations`);
          const step = encoderBackward(simulationResources(ctx).foundation, s.lora as Weights, s.loraOptimizer as OptimizerState, s.activations as CutMessage, m.cut, p.learningRate);
          s.lora = step.lora;
          s.loraOptimizer = step.loraOpt;
          s.activations = null;
          if (m.last) {
            const upload: Upload = { slot: s.slot, device: deviceId(p.index), dataSize: s.dataSize, weights: step.lora };
            effects = [{ kind: 'send', to: SERVER_ID, type: 'lora-upload', body: upload }];
            s.lora = null;
            s.loraOptimizer = null;
          }
          return;
        }
        default:
          throw new Error(`${ctx.self}: unexpected message ${message.type}`);
      }
    });
    return [next, effects] as const;
  },
};
