/**
 * Cloud aggregator actor (README "Several cells"): above the edge servers of a multi-cell system.
 * Every H rounds each edge server sends its model (LoRA adapters and head) up its backhaul; when
 * every cell's has arrived the cloud merges them, weighted by the training samples behind each
 * since the last merge (hierarchical FedAvg, models/aggregate.ts), and sends the merged model back
 * down every backhaul. Each backhaul transfer is charged by channels/backhaul.ts; the merge goes in
 * the event log and, with what each backhaul carried, to the driver.
 */
import { fromHandlers, senderOf, type ActorKind, type Effect, type HandlerTable } from '../runtime/actor';
import { aggregateHeads, aggregateLora, type LoraAggregation } from '../models/aggregate';
import { backhaulTransfer, weightBits, type BackhaulLink } from '../channels/backhaul';
import type { CloudMessages, DriverMessages, EdgeModel, Merge, ServerMessages } from './roundMessages';
import { DRIVER_ID } from './actorParams';

export interface CloudParams {
  /** The edge servers merged, in cell order (the order of the sums). */
  servers: string[];
  backhaul: BackhaulLink;
  /** q, bits per element on the backhaul. */
  bitsPerElement: number;
  /** How LoRA adapters are merged (MODEL.md §2 step 5; a strategy module merges as 'fedavg'). */
  aggregation: LoraAggregation;
  loraRank: number;
}

export interface CloudState {
  params: CloudParams;
  /** The edge models of the merge in progress, by server id. */
  arrived: Record<string, EdgeModel>;
  merges: number;
}

const toServer = senderOf<ServerMessages>();
const toDriver = senderOf<DriverMessages>();

/**
 * The merged model of one round's edge models (all of `servers`, in that order): samples-weighted
 * FedAvg of the adapters and heads. Edges with no samples since the last merge weigh nothing; with
 * none anywhere, the edges' models are averaged with equal weights.
 */
export function mergeEdges(
  servers: readonly string[],
  arrived: Readonly<Record<string, EdgeModel>>,
  aggregation: LoraAggregation,
  rank: number,
): { lora: EdgeModel['lora']; head: EdgeModel['head'] } {
  const models = servers.map((id) => arrived[id] as EdgeModel);
  const total = models.reduce((n, e) => n + e.samples, 0);
  const weight = (e: EdgeModel) => (total > 0 ? e.samples : 1);
  return {
    lora: aggregateLora(
      models.map((e) => ({ lora: e.lora, weight: weight(e) })),
      aggregation,
      rank,
    ),
    head: aggregateHeads(models.map((e) => ({ head: e.head, weight: weight(e) }))),
  };
}

/** The cloud's handler table (actors/roundMessages.ts). */
export const cloudHandlers: HandlerTable<CloudState, CloudMessages> = {
  'edge-model': (state, message, ctx) => {
    const p = state.params;
    if (!p.servers.includes(message.from))
      throw new Error(`${ctx.self}: an edge model from ${message.from}, which is none of its cells' servers`);
    const m = message.body;
    const pending = Object.values(state.arrived)[0];
    if (pending && pending.round !== m.round)
      throw new Error(`${ctx.self}: edge model of round ${m.round} from ${message.from} while merging round ${pending.round}`);
    const arrived = { ...state.arrived, [message.from]: m };
    if (p.servers.some((id) => !arrived[id])) return [{ ...state, arrived }, []];
    const merged = mergeEdges(p.servers, arrived, p.aggregation, p.loraRank);
    const downBits = weightBits(merged.lora, p.bitsPerElement) + weightBits(merged.head, p.bitsPerElement);
    const down = backhaulTransfer(downBits, p.backhaul);
    const ups = p.servers.map((id) => {
      const e = arrived[id] as EdgeModel;
      return { id, e, up: backhaulTransfer(weightBits(e.lora, p.bitsPerElement) + weightBits(e.head, p.bitsPerElement), p.backhaul) };
    });
    // The model time of the merge: the last edge model's arrival (each left when its round ended).
    const mergedT = Math.max(...ups.map((u) => u.e.readyT + u.up.delayS));
    const merge: Merge = {
      round: m.round,
      mergedT,
      cells: ups.map((u) => ({
        server: u.id,
        samples: u.e.samples,
        upBits: u.up.bits,
        downBits: down.bits,
        upT: u.e.readyT + u.up.delayS,
        downT: mergedT + down.delayS,
      })),
    };
    const effects: Effect[] = [
      { kind: 'log', type: 'cloud-merge', data: { round: m.round, mergedT, samples: merge.cells.map((c) => c.samples) } },
      ...p.servers.map((id) =>
        toServer(id, 'cloud-model', { round: m.round, lora: merged.lora, head: merged.head, arrivesT: mergedT + down.delayS }, down.delayS),
      ),
      toDriver(DRIVER_ID, 'merge', merge),
    ];
    return [{ ...state, arrived: {}, merges: state.merges + 1 }, effects];
  },
};

export const cloudKind: ActorKind<CloudState, CloudParams> = {
  kind: 'cloud',
  initialState: (params) => ({ params, arrived: {}, merges: 0 }),
  transition: fromHandlers(cloudHandlers),
};
