/** Parameters the simulation hands each actor kind at creation (derived from the scenario). */

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
