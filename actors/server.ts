/**
 * Edge-server actor (MODEL.md §1, §2 steps 3 and 5): holds the global LoRA adapters and task
 * module, opens a round for the admitted devices (head down over the channel, LoRA to each
 * device's session) and aggregates what arrives before the deadline with its strategy.
 */
import { produce } from 'immer';
import type { ActorKind, Effect } from '../runtime/actor';
import { downlinkRateBps } from '../channels/linkBudget';
import { airtimeS } from '../channels/inverse';
import { initHead, initLora } from '../models';
import type { Aggregate, RoundSummary, SessionOpen, Upload, Weights } from './protocol';
import type { Decision } from '../scheduler/instance';
import { DRIVER_ID, evaluatorId, shardId, type LinkParams, type PayloadCosts } from './params';
import { simulationResources } from './resources';
import { type FitFailure, type FitResult } from './strategy';
import { createStrategy } from './strategyModule';
import type { StrategySpec } from '../runtime/scenario';

export interface ServerParams {
  /** Edge-server shards the admitted devices are dealt to, in turn. */
  shards: number;
  /** Evaluator shards scoring slices of the test set. */
  evaluators: number;
  link: LinkParams;
  costs: PayloadCosts;
  aggregation: StrategySpec;
  loraRank: number;
}

interface Arrival {
  t: number;
  upload: Upload;
}

export interface ServerState {
  params: ServerParams;
  lora: Weights;
  head: Weights;
  slot: number;
  admitted: string[];
  heads: Record<string, Arrival>;
  loras: Record<string, Arrival>;
}

export interface RoundOpenWithGains {
  slot: number;
  decision: Decision;
  /** g_k^t of each admitted device, for its downlink rate. */
  gains: Record<string, number>;
  /** |D_k| of each admitted device, the FedAvg weight. */
  dataSizes: Record<string, number>;
}

export const serverKind: ActorKind<ServerState, ServerParams> = {
  kind: 'server',
  resources: ['simulation'],
  initialState: (params, ctx) => {
    const { foundation } = simulationResources(ctx);
    return { params, lora: initLora(foundation, ctx.random.fork('lora')), head: initHead(foundation, ctx.random.fork('head')), slot: -1, admitted: [], heads: {}, loras: {} };
  },

  transition(state, message, ctx) {
    let effects: Effect[] = [];
    const next = produce(state, (s) => {
      const p = s.params;
      const strategy = createStrategy(p.aggregation, p.loraRank);
      switch (message.type) {
        case 'decision': {
          const m = message.body as RoundOpenWithGains;
          s.slot = m.slot;
          s.admitted = [...m.decision.admitted];
          s.heads = {};
          s.loras = {};
          // Effects carry the base state's weights, never drafts (they are revoked when the recipe ends).
          const starts = strategy.configureFit(m.slot, { lora: state.lora, head: state.head }, m.decision.admitted);
          s.admitted.forEach((id, i) => {
            const start = starts.get(id);
            if (!start) return;
            const fraction = m.decision.bandwidth[id] ?? 0;
            const rate = downlinkRateBps(fraction, p.link.downlinkBandwidthHz, p.link.serverPowerW, m.gains[id] ?? 0, p.link.noisePsdWPerHz);
            const shard = shardId(i % p.shards);
            const open: SessionOpen = { slot: m.slot, device: id, dataSize: m.dataSizes[id] ?? 0, lora: start.lora, downlinkRateBps: rate, admittedCount: s.admitted.length };
            effects.push(
              { kind: 'send', to: id, type: 'global-head', body: { slot: m.slot, head: start.head, shard }, delayS: airtimeS(p.costs.headBits, rate) },
              { kind: 'send', to: shard, type: 'global-lora', body: open },
            );
          });
          return;
        }
        case 'head-upload':
        case 'lora-upload': {
          const m = message.body as Upload;
          if (m.slot !== s.slot) return; // a late upload of an earlier round: ignored
          (message.type === 'head-upload' ? s.heads : s.loras)[m.device] = { t: message.t, upload: m };
          return;
        }
        case 'aggregate': {
          const m = message.body as Aggregate;
          const results: FitResult[] = [];
          const failures: FitFailure[] = [];
          for (const id of s.admitted) {
            const head = state.heads[id];
            const lora = state.loras[id];
            if (!head || !lora) failures.push({ device: id, reason: 'dropout' });
            else if (head.t > m.deadlineT + 1e-9) failures.push({ device: id, reason: 'deadline' });
            else {
              results.push({ device: id, dataSize: head.upload.dataSize, head: head.upload.weights, lora: lora.upload.weights });
            }
          }
          const global = strategy.aggregateFit(m.slot, results, failures, { lora: state.lora, head: state.head });
          s.lora = global.lora;
          s.head = global.head;
          const summary: RoundSummary = {
            slot: m.slot,
            aggregated: results.map((r) => r.device),
            failures: Object.fromEntries(failures.map((f) => [f.device, f.reason])),
          };
          effects = [
            ...Array.from({ length: p.evaluators }, (_, j): Effect => ({ kind: 'send', to: evaluatorId(j), type: 'global-model', body: { slot: m.slot, lora: global.lora, head: global.head } })),
            { kind: 'send', to: DRIVER_ID, type: 'round-summary', body: summary },
          ];
          s.heads = {};
          s.loras = {};
          s.admitted = [];
          return;
        }
        default:
          throw new Error(`${ctx.self}: unexpected message ${message.type}`);
      }
    });
    return [next, effects] as const;
  },
};
