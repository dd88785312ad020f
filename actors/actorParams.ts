/** Parameters the simulation hands each actor kind at creation (derived from the scenario). */
import { deviceId as deviceIdOf } from '../channels/params';
import type { BackhaulLink } from '../channels/backhaul';

/** What one local iteration and one round put on the channel and the processors (MODEL.md §4). */
export interface PayloadCosts {
  /** s_a: uplink activations per iteration. */
  activationsBits: number;
  /** s_f: downlink features per iteration. */
  featuresBits: number;
  /** s_g: uplink cut gradient per iteration. */
  gradientsBits: number;
  /** s_h: head parameters, each way, once per round. */
  headBits: number;
  /** F_k^dev per iteration: b (F_emb + 3 F_head). */
  deviceFlopsPerIteration: number;
  /** F^srv per iteration for one device: b F_enc,train. */
  serverFlopsPerIteration: number;
  /** 'actual' (the trained model's shapes) or a named profile such as 'bert-base'. */
  profile: string;
}

/** The medium's constants (MODEL.md §3). */
export interface LinkParams {
  bandwidthHz: number;
  downlinkBandwidthHz: number;
  /** N0 with the noise figure, W/Hz. */
  noisePsdWPerHz: number;
  serverPowerW: number;
}

/** Actor ids of the default topology. */
export const SERVER_ID = 'server';
/** Edge-server shard j (actors/shard.ts) and evaluator shard j (actors/evaluator.ts). */
export const shardId = (j: number): string => `shard${j}`;
export const evaluatorId = (j: number): string => `eval${j}`;
export const SCHEDULER_ID = 'scheduler';
export const DRIVER_ID = 'driver';
export { deviceId } from '../channels/params';

/**
 * The actor ids of one cell: the default topology's names after the cell's prefix (`''` for a
 * single-cell run, `A.` for cell A of a multi-cell system). The kinds get their peers' ids as
 * params from these, never fixed ids.
 */
export interface CellIds {
  readonly prefix: string;
  readonly server: string;
  readonly scheduler: string;
  device(k: number): string;
  shard(j: number): string;
  evaluator(j: number): string;
}

/** The ids of the cell whose actors' ids start with `prefix`. */
export function cellIds(prefix = ''): CellIds {
  return {
    prefix,
    server: `${prefix}${SERVER_ID}`,
    scheduler: `${prefix}${SCHEDULER_ID}`,
    device: (k) => `${prefix}${deviceIdOf(k)}`,
    shard: (j) => `${prefix}${shardId(j)}`,
    evaluator: (j) => `${prefix}${evaluatorId(j)}`,
  };
}

/** An edge server's cloud above it, in a multi-cell system (README "Several cells"). */
export interface CloudLink {
  /** The cloud aggregator's id. */
  id: string;
  /** H: the edge sends its model up after every H rounds. */
  everyRounds: number;
  backhaul: BackhaulLink;
  /** q, bits per element on the backhaul. */
  bitsPerElement: number;
}
