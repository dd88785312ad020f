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
 * Multi-adapter batching: the devices of a shard send their cut gradients and next
 * activations in the same runtime step, so the shard takes its whole mail at once
 * (`transitionMail`): one batched backward pass over the cut gradients, then one batched forward
 * pass over the activations (the worker's ServerCompute, models/compute.ts: frozen weights on all
 * rows, each device's adapter on its own rows), in groups of at most `batchDevices` devices; the
 * shards of one worker take their mail together (`transitionMailGroup`), one pass over the devices
 * of all of them. What
 * each device gets is what per-device execution gives, bit for bit (the frozen products are
 * row-independent; test/simulation.test.ts); the timing model (t^srv, MODEL.md §4) is unchanged.
 * The features go down charged on the device's link by the medium's one charge (channels/transfer.ts).
 */
import {
  fromHandlers,
  messageOf,
  senderOf,
  type ActorContext,
  type ActorKind,
  type Effect,
  type Envelope,
  type HandlerTable,
  type MessageOf,
} from '../runtime/actor';
import { completeTransfer } from '../channels/transfer';
import type { LinkState } from '../channels/linkState';
import type { RadioConstants } from '../channels/params';
import { serverComputeS } from '../scheduler/costs';
import { initOptimizerState, type EncoderCache } from '../models';
import { backward as backwardPass } from '../models/compute';
import type { OptimizerState } from '../models/optimizer';
import type { Activations, CutGradient, DeviceMessages, ServerMessages, ShardMessages, Weights } from './roundMessages';
import type { PayloadCosts } from './actorParams';
import { simulationResources } from './resources';

export interface ShardParams {
  serverFlops: number;
  costs: PayloadCosts;
  radio: RadioConstants;
  learningRate: number;
  /** Most devices in one batched encoder pass (1: one pass per device). */
  batchDevices: number;
  /** Its cell's edge server. */
  server: string;
}

/** One device's session on this shard during a round. */
export interface Session {
  lora: Weights;
  loraOptimizer: OptimizerState;
  /**
   * What the backward pass needs from the forward pass of the iteration in flight: a key to the
   * tensors this worker keeps (models/keptCache.ts) and the activations to rebuild them from
   * anywhere else (models/compute.ts).
   */
  cache: EncoderCache | null;
  /**
   * Its place in the last batched forward pass on this worker: cut gradients are batched in that
   * order, so that a backward pass takes that forward pass's kept values whole instead of copying them.
   */
  forwardRank: number;
  /** The device's link this round. */
  link: LinkState;
  admittedCount: number;
  dataSize: number;
}

export interface ShardState {
  params: ShardParams;
  slot: number;
  sessions: Record<string, Session>;
}

type ActivationsMessage = Envelope<Activations> & { readonly type: 'activations' };
type GradientMessage = Envelope<CutGradient> & { readonly type: 'cut-gradient' };

const toDevice = senderOf<DeviceMessages>();
const toServer = senderOf<ServerMessages>();

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
    throw new Error(
      `${ctx.self}: ${need === 'activations' ? 'cut gradient' : 'activations'} from ${message.from} without ${need === 'activations' ? 'activations' : 'a session'}`,
    );
  return session;
}

/** One shard's part of a batched step: its state, its cut gradients and activations (by message index), its context. */
interface ShardWork {
  readonly state: ShardState;
  readonly backward: ReadonlyArray<[number, GradientMessage]>;
  readonly forward: ReadonlyArray<[number, ActivationsMessage]>;
  readonly ctx: ActorContext;
}

/**
 * The cut gradients (`backward`) and then the activations (`forward`) of several devices of one
 * shard or more (the shards of one worker), each in batched passes over all of them: updates each
 * shard's sessions and returns each shard's effects by message index. A device's result does not
 * depend on the devices it is batched with (models/compute.ts), so neither does the log.
 */
function runBatched(shards: readonly ShardWork[]): Array<[ShardState, Map<number, Effect[]>]> {
  const first = shards[0] as ShardWork;
  const { compute } = simulationResources(first.ctx);
  if (shards.some((w) => simulationResources(w.ctx).compute !== compute))
    throw new Error(`${first.ctx.self}: shards of other workers in one batch`);
  const batchDevices = Math.min(...shards.map((w) => w.state.params.batchDevices));
  // Every message is checked before any pass runs, so a bad one costs no model work before the fallback.
  for (const { state, backward, forward, ctx } of shards) {
    const ending = new Set(backward.filter(([, m]) => m.body.last).map(([, m]) => m.from));
    for (const [, m] of backward) sessionOf(state, m, m.body.slot, 'activations', ctx);
    for (const [, m] of forward) {
      if (ending.has(m.from)) throw new Error(`${ctx.self}: activations from ${m.from} after its last cut gradient`);
      sessionOf(state, m, m.body.slot, 'session', ctx);
    }
  }
  const sessions: Array<Record<string, Session>> = shards.map((w) => ({ ...w.state.sessions }));
  const effects = shards.map(() => new Map<number, Effect[]>());
  type Item<M> = { shard: number; index: number; m: M };
  // In the order of the forward pass they answer (the order changes no value: models/compute.ts).
  const rank = ({ shard, m }: Item<GradientMessage>): number => (sessions[shard]![m.from] as Session).forwardRank;
  const backward: Item<GradientMessage>[] = shards
    .flatMap((w, shard) => w.backward.map(([index, m]) => ({ shard, index, m })))
    .sort((x, y) => rank(x) - rank(y));
  const forward: Item<ActivationsMessage>[] = shards.flatMap((w, shard) => w.forward.map(([index, m]) => ({ shard, index, m })));
  for (const group of groups(backward, batchDevices)) {
    const items = group.map(({ shard, m }) => {
      const session = sessions[shard]![m.from] as Session;
      return {
        lora: session.lora,
        loraOpt: session.loraOptimizer,
        cache: session.cache as EncoderCache,
        featureGrad: m.body.cut,
        lr: shards[shard]!.state.params.learningRate,
      };
    });
    const steps = backwardPass(compute, items);
    group.forEach(({ shard, index, m }, k) => {
      const own = sessions[shard] as Record<string, Session>;
      const p = shards[shard]!.state.params;
      const session = own[m.from] as Session;
      const step = steps[k] as (typeof steps)[number];
      if (m.body.last) {
        effects[shard]!.set(index, [
          toServer(p.server, 'lora-upload', { slot: m.body.slot, device: m.from, dataSize: session.dataSize, weights: step.lora }),
        ]);
        delete own[m.from];
      } else {
        own[m.from] = { ...session, lora: step.lora, loraOptimizer: step.loraOpt, cache: null };
        effects[shard]!.set(index, []);
      }
    });
  }
  let forwardRank = 0;
  for (const group of groups(forward, batchDevices)) {
    const items = group.map(({ shard, m }) => ({ lora: (sessions[shard]![m.from] as Session).lora, activations: m.body.cut }));
    // A forward pass follows as many backward passes (Adam steps) as came before it: the step count numbers it.
    const keys = group.map(({ shard, m }) => {
      const w = shards[shard] as ShardWork;
      return `${w.ctx.self}/${w.state.slot}/${m.from}/${(sessions[shard]![m.from] as Session).loraOptimizer.step}`;
    });
    const out = compute.forward(items, { keys });
    group.forEach(({ shard, index, m }, k) => {
      const own = sessions[shard] as Record<string, Session>;
      const p = shards[shard]!.state.params;
      const session = own[m.from] as Session;
      const { features, cache } = out[k] as (typeof out)[number];
      own[m.from] = { ...session, cache, forwardRank: forwardRank++ };
      // t^srv per iteration (the server shared equally), then s_f down on the device's link. MODEL.md §4.
      const serverS = serverComputeS(p.costs.serverFlopsPerIteration, session.admittedCount, p.serverFlops);
      const charge = completeTransfer(
        { device: session.link.device, type: 'features', direction: 'downlink', bits: p.costs.featuresBits },
        session.link,
        p.radio,
        m.body.slot,
      );
      effects[shard]!.set(index, [toDevice(m.from, 'features', { slot: m.body.slot, cut: features, charge }, serverS + charge.airtimeS)]);
    });
  }
  return shards.map((w, shard) => [
    { ...w.state, sessions: sessions[shard] as Record<string, Session> },
    effects[shard] as Map<number, Effect[]>,
  ]);
}

/**
 * A shard's mail of one step, split for `runBatched`: the sessions to open (handled first), then
 * the cut gradients and the activations. That is the per-message order as long as each device
 * sends at most one of each and its cut gradient comes before its next activations (the device
 * sends them so); any other mail throws, and is handled message by message.
 */
function splitMail(state: ShardState, mail: readonly Envelope[], ctx: ActorContext): ShardWork {
  const opens: MessageOf<ShardMessages>[] = [];
  const backward: Array<[number, GradientMessage]> = [];
  const forward: Array<[number, ActivationsMessage]> = [];
  const seen = new Set<string>();
  const notBatchable = (): never => {
    throw new Error(`${ctx.self}: mail not batchable`);
  };
  mail.forEach((raw, i) => {
    const m = messageOf<ShardMessages>(shardHandlers, raw, ctx.self);
    const key = `${m.type}/${m.type === 'global-lora' ? m.body.device : m.from}`;
    if (seen.has(key)) notBatchable();
    seen.add(key);
    if (m.type === 'global-lora') {
      if (backward.length + forward.length > 0) notBatchable();
      opens.push(m);
    } else if (m.type === 'cut-gradient') {
      if (seen.has(`activations/${m.from}`)) notBatchable();
      backward.push([i, m]);
    } else forward.push([i, m]);
  });
  let s = state;
  for (const m of opens) s = shardKind.transition(s, m, { ...ctx, t: m.t })[0];
  return { state: s, backward, forward, ctx };
}

/** The shard's handler table (actors/protocol.ts). */
export const shardHandlers: HandlerTable<ShardState, ShardMessages> = {
  'global-lora': (state, message, ctx) => {
    const m = message.body;
    // A new round: free what a dropped device's session left on this worker (a memo: no result changes).
    if (m.slot !== state.slot) simulationResources(ctx).compute.release(`${ctx.self}/`);
    const sessions = m.slot !== state.slot ? {} : state.sessions; // sessions live for one round
    const session: Session = {
      lora: m.lora,
      loraOptimizer: initOptimizerState(m.lora),
      cache: null,
      forwardRank: 0,
      link: m.link,
      admittedCount: m.admittedCount,
      dataSize: m.dataSize,
    };
    return [{ ...state, slot: m.slot, sessions: { ...sessions, [m.device]: session } }, []];
  },
  activations: (state, message, ctx) => {
    const [next, effects] = runBatched([{ state, backward: [], forward: [[0, message]], ctx }])[0] as [ShardState, Map<number, Effect[]>];
    return [next, effects.get(0) ?? []];
  },
  'cut-gradient': (state, message, ctx) => {
    const [next, effects] = runBatched([{ state, backward: [[0, message]], forward: [], ctx }])[0] as [ShardState, Map<number, Effect[]>];
    return [next, effects.get(0) ?? []];
  },
};

export const shardKind: ActorKind<ShardState, ShardParams> = {
  kind: 'shard',
  resources: ['simulation'],
  initialState: (params) => ({ params, slot: -1, sessions: {} }),
  transition: fromHandlers(shardHandlers),

  /** A step's mail at once (`splitMail`), its passes batched over its devices. */
  transitionMail(state, mail, ctx) {
    const [next, effects] = runBatched([splitMail(state, mail, ctx)])[0] as [ShardState, Map<number, Effect[]>];
    return [next, mail.map((_, i) => effects.get(i) ?? [])] as const;
  },

  /** The mail of the step of every shard on this worker (`splitMail` each), the passes batched over all their devices. */
  transitionMailGroup(items) {
    const results = runBatched(items.map(({ state, mail, ctx }) => splitMail(state, mail, ctx)));
    return items.map(({ mail }, k) => {
      const [next, effects] = results[k] as [ShardState, Map<number, Effect[]>];
      return [next, mail.map((_, i) => effects.get(i) ?? [])] as const;
    });
  },
};
