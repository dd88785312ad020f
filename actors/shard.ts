/**
 * Edge-server shard (MODEL.md §2 step 4): a slice of the edge server holding the LoRA copies of the
 * admitted devices the server assigned to it this round. For each device it runs the frozen encoder
 * (per worker) with that device's copy on its activations, sends the features down, and
 * back-propagates the device's cut gradient into the copy from what it kept of the forward pass (an
 * EncoderCache, plain data, replaced each iteration) instead of running that pass again. Shards are
 * pinned one per worker slot and the server deals admitted devices to them in turn, so the encoder
 * work of a round spreads evenly over the pool whichever devices are admitted. The shard count is part of the scenario, never the
 * worker count, so the log does not depend on the pool.
 */
import { produce } from 'immer';
import type { ActorKind, Effect } from '../runtime/actor';
import { airtimeS } from '../channels/inverse';
import { encoderBackwardCached, encoderForwardCached, initOptimizerState, type EncoderCache } from '../models';
import type { OptimizerState } from '../models/optimizer';
import type { CutMessage, SessionOpen, Upload, Weights } from './protocol';
import { SERVER_ID, type PayloadCosts } from './params';
import { simulationResources } from './resources';

export interface ShardParams {
  serverFlops: number;
  costs: PayloadCosts;
  learningRate: number;
}

/** One device's session on this shard during a round. */
export interface Session {
  lora: Weights;
  loraOptimizer: OptimizerState;
  /** What the backward pass needs from the forward pass of the iteration in flight (plain data, models/cached.ts). */
  cache: EncoderCache | null;
  downlinkRateBps: number;
  admittedCount: number;
  dataSize: number;
}

export interface ShardState {
  params: ShardParams;
  slot: number;
  sessions: Record<string, Session>;
}

export const shardKind: ActorKind<ShardState, ShardParams> = {
  kind: 'shard',
  resources: ['simulation'],
  initialState: (params) => ({ params, slot: -1, sessions: {} }),

  transition(state, message, ctx) {
    let effects: Effect[] = [];
    const foundation = () => simulationResources(ctx).foundation;
    const next = produce(state, (s) => {
      const p = s.params;
      switch (message.type) {
        case 'global-lora': {
          const m = message.body as SessionOpen;
          if (m.slot !== s.slot) {
            s.slot = m.slot;
            s.sessions = {}; // sessions live for one round
          }
          s.sessions[m.device] = { lora: m.lora, loraOptimizer: initOptimizerState(m.lora), cache: null, downlinkRateBps: m.downlinkRateBps, admittedCount: m.admittedCount, dataSize: m.dataSize };
          return;
        }
        case 'activations': {
          const m = message.body as { slot: number; cut: CutMessage };
          const session = state.sessions[message.from];
          if (!session || m.slot !== state.slot) throw new Error(`${ctx.self}: activations from ${message.from} without a session`);
          const { features, cache } = encoderForwardCached(foundation(), session.lora, m.cut);
          (s.sessions[message.from] as Session).cache = cache;
          // t^srv per iteration = F^srv n / F_s (the server shared equally); then s_f on the downlink. MODEL.md §4.
          const serverS = (p.costs.serverFlopsPerIteration * session.admittedCount) / p.serverFlops;
          const downS = airtimeS(p.costs.featuresBits, session.downlinkRateBps);
          effects = [{ kind: 'send', to: message.from, type: 'features', body: { slot: m.slot, cut: features }, delayS: serverS + downS }];
          return;
        }
        case 'cut-gradient': {
          const m = message.body as { slot: number; cut: CutMessage; last: boolean };
          const session = state.sessions[message.from];
          if (!session?.cache || m.slot !== state.slot) throw new Error(`${ctx.self}: cut gradient from ${message.from} without activations`);
          const step = encoderBackwardCached(foundation(), session.lora, session.loraOptimizer, session.cache, m.cut, p.learningRate);
          if (m.last) {
            const upload: Upload = { slot: m.slot, device: message.from, dataSize: session.dataSize, weights: step.lora };
            effects = [{ kind: 'send', to: SERVER_ID, type: 'lora-upload', body: upload }];
            delete s.sessions[message.from];
            return;
          }
          s.sessions[message.from] = { ...session, lora: step.lora, loraOptimizer: step.loraOpt, cache: null };
          return;
        }
        default:
          throw new Error(`${ctx.self}: unexpected message ${message.type}`);
      }
    });
    return [next, effects] as const;
  },
};
