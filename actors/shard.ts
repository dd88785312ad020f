/**
 * Edge-server shard (MODEL.md §2 step 4): a slice of the edge server holding the LoRA copies of the
 * admitted devices the server assigned to it this round. For each device it runs the frozen encoder
 * (per worker) with that device's copy on its activations, sends the features down, and
 * back-propagates the device's cut gradient into the copy from what it kept of the forward pass
 * (tensors kept on the worker under a key, rebuilt from the activations if the worker does not
 * hold them: models/keptCache.ts) instead of running that pass again. Shards are
 * pinned one per worker slot and the server deals admitted devices to them in turn, so the encoder
 * work of a round spreads evenly over the pool whichever devices are admitted. The shard count is part of the scenario, never the
 * worker count, so the log does not depend on the pool.
 *
 * Multi-adapter batching (issue 7): the devices of a shard send their cut gradients and next
 * activations in the same runtime step, so the shard takes its whole mail at once
 * (`transitionMail`): one batched backward pass over the cut gradients, then one batched forward
 * pass over the activations (the worker's ServerCompute, models/compute.ts: frozen weights on all
 * rows, each device's adapter on its own rows), in groups of at most `batchDevices` devices. What
 * each device gets is what per-device execution gives, bit for bit (the frozen products are
 * row-independent; test/simulation.test.ts); the timing model (t^srv, MODEL.md §4) is unchanged.
 */
import { produce } from 'immer';
import type { ActorContext, ActorKind, Effect, Envelope } from '../runtime/actor';
import { airtimeS } from '../channels/inverse';
import { initOptimizerState, type EncoderCache } from '../models';
import { backwardMany } from '../models/compute';
import type { OptimizerState } from '../models/optimizer';
import type { CutMessage, SessionOpen, Upload, Weights } from './protocol';
import { SERVER_ID, type PayloadCosts } from './params';
import { simulationResources } from './resources';

export interface ShardParams {
  serverFlops: number;
  costs: PayloadCosts;
  learningRate: number;
  /** Most devices in one batched encoder pass (1: one pass per device). */
  batchDevices: number;
}

/** One device's session on this shard during a round. */
export interface Session {
  lora: Weights;
  loraOptimizer: OptimizerState;
  /**
   * What the backward pass needs from the forward pass of the iteration in flight: a key to the
   * tensors this worker keeps (models/keptCache.ts) and the activations to rebuild them from
   * anywhere else (plain data, models/cached.ts).
   */
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

type ActivationsBody = { slot: number; cut: CutMessage };
type GradientBody = { slot: number; cut: CutMessage; last: boolean };

/** `items` in groups of at most `size`, in order. */
function groups<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The session of the message's sender, checked; `need` names what it must already hold. */
function sessionOf(state: ShardState, message: Envelope, slot: number, need: 'session' | 'activations', ctx: ActorContext): Session {
  const session = state.sessions[message.from];
  if (!session || slot !== state.slot || (need === 'activations' && !session.cache))
    throw new Error(`${ctx.self}: ${need === 'activations' ? 'cut gradient' : 'activations'} from ${message.from} without ${need === 'activations' ? 'activations' : 'a session'}`);
  return session;
}

/**
 * The cut gradients (`backward`) and then the activations (`forward`) of several devices, each in
 * batched passes: updates the sessions and returns each message's effects by its index.
 */
function runBatched(state: ShardState, backward: ReadonlyArray<[number, Envelope]>, forward: ReadonlyArray<[number, Envelope]>, ctx: ActorContext): [ShardState, Map<number, Effect[]>] {
  const { compute } = simulationResources(ctx);
  const p = state.params;
  const effects = new Map<number, Effect[]>();
  // Every message is checked before any pass runs, so a bad one costs no model work before the fallback.
  const ending = new Set(backward.filter(([, m]) => (m.body as GradientBody).last).map(([, m]) => m.from));
  for (const [, m] of backward) sessionOf(state, m, (m.body as GradientBody).slot, 'activations', ctx);
  for (const [, m] of forward) {
    if (ending.has(m.from)) throw new Error(`${ctx.self}: activations from ${m.from} after its last cut gradient`);
    sessionOf(state, m, (m.body as ActivationsBody).slot, 'session', ctx);
  }
  const sessions: Record<string, Session> = { ...state.sessions };
  for (const group of groups(backward, p.batchDevices)) {
    const items = group.map(([, m]) => {
      const session = sessions[m.from] as Session;
      return { lora: session.lora, loraOpt: session.loraOptimizer, cache: session.cache as EncoderCache, featureGrad: (m.body as GradientBody).cut, lr: p.learningRate };
    });
    const steps = backwardMany(compute, items);
    group.forEach(([i, m], k) => {
      const body = m.body as GradientBody;
      const session = sessions[m.from] as Session;
      const step = steps[k] as (typeof steps)[number];
      if (body.last) {
        const upload: Upload = { slot: body.slot, device: m.from, dataSize: session.dataSize, weights: step.lora };
        effects.set(i, [{ kind: 'send', to: SERVER_ID, type: 'lora-upload', body: upload }]);
        delete sessions[m.from];
      } else {
        sessions[m.from] = { ...session, lora: step.lora, loraOptimizer: step.loraOpt, cache: null };
        effects.set(i, []);
      }
    });
  }
  for (const group of groups(forward, p.batchDevices)) {
    const items = group.map(([, m]) => ({ lora: (sessions[m.from] as Session).lora, activations: (m.body as ActivationsBody).cut }));
    // A forward pass follows as many backward passes (Adam steps) as came before it: the step count numbers it.
    const keys = group.map(([, m]) => `${ctx.self}/${state.slot}/${m.from}/${(sessions[m.from] as Session).loraOptimizer.step}`);
    const out = compute.forwardMany(items, keys);
    group.forEach(([i, m], k) => {
      const session = sessions[m.from] as Session;
      const { features, cache } = out[k] as (typeof out)[number];
      sessions[m.from] = { ...session, cache };
      // t^srv per iteration = F^srv n / F_s (the server shared equally); then s_f on the downlink. MODEL.md §4.
      const serverS = (p.costs.serverFlopsPerIteration * session.admittedCount) / p.serverFlops;
      const downS = airtimeS(p.costs.featuresBits, session.downlinkRateBps);
      effects.set(i, [{ kind: 'send', to: m.from, type: 'features', body: { slot: (m.body as ActivationsBody).slot, cut: features }, delayS: serverS + downS }]);
    });
  }
  return [{ ...state, sessions }, effects];
}

export const shardKind: ActorKind<ShardState, ShardParams> = {
  kind: 'shard',
  resources: ['simulation'],
  initialState: (params) => ({ params, slot: -1, sessions: {} }),

  transition(state, message, ctx) {
    if (message.type === 'activations' || message.type === 'cut-gradient') {
      const [next, effects] = runBatched(state, message.type === 'cut-gradient' ? [[0, message]] : [], message.type === 'activations' ? [[0, message]] : [], ctx);
      return [next, effects.get(0) ?? []] as const;
    }
    // A new round: free what a dropped device's session left on this worker (a memo: no result changes).
    if (message.type === 'global-lora' && (message.body as SessionOpen).slot !== state.slot) simulationResources(ctx).compute.release(`${ctx.self}/`);
    const next = produce(state, (s) => {
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
        default:
          throw new Error(`${ctx.self}: unexpected message ${message.type}`);
      }
    });
    return [next, []] as const;
  },

  /**
   * A step's mail at once: sessions opened first, then every cut gradient in batched backward
   * passes, then every activation in batched forward passes. That is the per-message order as
   * long as each device sends at most one of each and its cut gradient comes before its next
   * activations (the device sends them so); any other mail is handled message by message.
   */
  transitionMail(state, mail, ctx) {
    const opens: Envelope[] = [];
    const backward: Array<[number, Envelope]> = [];
    const forward: Array<[number, Envelope]> = [];
    const seen = new Set<string>();
    const notBatchable = (): never => {
      throw new Error(`${ctx.self}: mail not batchable`);
    };
    mail.forEach((m, i) => {
      const key = `${m.type}/${m.type === 'global-lora' ? (m.body as SessionOpen).device : m.from}`;
      if (seen.has(key)) notBatchable();
      seen.add(key);
      if (m.type === 'global-lora') {
        if (backward.length + forward.length > 0) notBatchable();
        opens.push(m);
      } else if (m.type === 'cut-gradient') {
        if (seen.has(`activations/${m.from}`)) notBatchable();
        backward.push([i, m]);
      } else if (m.type === 'activations') forward.push([i, m]);
      else notBatchable();
    });
    let s = state;
    for (const m of opens) s = shardKind.transition(s, m, { ...ctx, t: m.t })[0];
    const [next, effects] = runBatched(s, backward, forward, ctx);
    return [next, mail.map((_, i) => effects.get(i) ?? [])] as const;
  },
};
