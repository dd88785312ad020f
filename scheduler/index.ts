/** The scheduler's public API (MODEL.md §5–§7): pure functions, no runtime dependencies. */
export {
  type SlotInstance,
  type SlotDevice,
  type PayloadBits,
  type PenaltyKind,
  type Decision,
  SlotInstanceError,
  parseSlotInstance,
} from './instance';
export { type DeviceCosts, deviceCosts, deviceLatencyS, deviceEnergyJ, uplinkBitsPerRound, downlinkBitsPerRound } from './costs';
export { type PenaltyOptions, phi, phiCount, phiData, roundWeight } from './penalty';
export { updateQueue, updateQueues } from './queues';
export {
  type EnergyQueues,
  type SlotObservation,
  type SlotConstants,
  type StaticDevice,
  type DecideOptions,
  decide,
  decideInstance,
  solveSlot,
  toSlotInstance,
} from './decide';
export { type ExactMethod, type ExactOptions, solveExact } from './exact';
export { type Policy, type PolicyOptions, createPolicy } from './policy';
export { solveSlotFile } from './solveSlotFile';
export { type RandomInstanceOptions, createRandomInstance, drawGain, DEFAULT_PAYLOAD_BITS } from './generate';
export {
  type PluginPolicy,
  type PluginDecision,
  EARLIEST_FINISH,
  PolicyDecisionError,
  completeDecision,
  minimumBandwidth,
} from './plugins/decision';
export { loadModulePolicy } from './plugins/modulePolicy';
export { PluginModuleError, pluginModuleDigest, resolvePluginModule, SHIPPED_PREFIX, type PluginKind } from '../util/pluginModule';
export type { PolicyQuestion } from './plugins/slotPolicy';
