/**
 * Scheduler actor (MODEL.md §1, §6): collects the devices' queue reports of the slot and, after its
 * report window, calls the pure policy once and publishes the decision to the driver, with the time
 * it was made; the driver applies it on the live medium, which checks it before anything uses it.
 * A device that did not report this slot is unavailable, and the decision says so. It only adapts
 * messages to calls.
 */
import { fromHandlers, senderOf, type ActorKind, type HandlerTable } from '../runtime/actor';
import type { PolicySpec } from '../scheduler/policyChoice';
import { createPolicy } from '../scheduler';
import { decideSlot } from '../scheduler/plugins/slotPolicy';
import type { SlotInstance } from '../scheduler/instance';
import type { DriverMessages, QueueReport, SchedulerMessages } from './roundMessages';
import { DRIVER_ID, deviceId, type PayloadCosts } from './actorParams';

/** How long the scheduler waits for queue reports after the slot starts (control channel), s. */
export const REPORT_WINDOW_S = 1e-3;

export interface SchedulerParams {
  policy: PolicySpec;
  randomCount: number;
  policySeed: number;
  deviceCount: number;
  /** Its cell's actor-id prefix: device k is `${devicePrefix}d${k}`. */
  devicePrefix: string;
  /** The slot-independent part of the per-slot instance (INTERFACE.md), without devices and weight. */
  constants: Omit<SlotInstance, 'devices' | 'weight' | 'payloadBits' | 'serverFlopsPerIteration'>;
  costs: PayloadCosts;
}

export interface SchedulerState {
  params: SchedulerParams;
  policyState: unknown;
  slot: number;
  reports: Record<number, QueueReport>;
}

/** The per-slot instance of MODEL.md §6 from this slot's reports; silent devices are unavailable. */
export function slotInstance(params: SchedulerParams, reports: Record<number, QueueReport>, weight: number): SlotInstance {
  const devices = Array.from({ length: params.deviceCount }, (_, k) => {
    const r = reports[k];
    if (r)
      return {
        id: r.id,
        queue: r.queue,
        gain: r.gain,
        powerW: r.powerW,
        cpuHz: r.cpuHz,
        flopsPerCycle: r.flopsPerCycle,
        deviceFlopsPerIteration: r.deviceFlopsPerIteration,
        dataSize: r.dataSize,
      };
    return {
      id: `${params.devicePrefix}${deviceId(k)}`,
      queue: 0,
      gain: 0,
      powerW: 0,
      cpuHz: 1,
      flopsPerCycle: 1,
      deviceFlopsPerIteration: params.costs.deviceFlopsPerIteration,
      dataSize: 0,
      available: false,
    };
  });
  return {
    ...params.constants,
    weight,
    payloadBits: {
      activations: params.costs.activationsBits,
      features: params.costs.featuresBits,
      gradients: params.costs.gradientsBits,
      head: params.costs.headBits,
    },
    serverFlopsPerIteration: params.costs.serverFlopsPerIteration,
    devices,
  };
}

const toDriver = senderOf<DriverMessages>();
const toSelf = senderOf<SchedulerMessages>();

/** The scheduler's handler table (actors/protocol.ts). */
export const schedulerHandlers: HandlerTable<SchedulerState, SchedulerMessages> = {
  'queue-report': (state, message) => [{ ...state, reports: { ...state.reports, [message.body.index]: message.body } }, []],
  // Wait one report window: the reports sent this step arrive with the window's end, earlier in t.
  decide: (state, message, ctx) => [state, [toSelf(ctx.self, 'report-deadline', message.body, REPORT_WINDOW_S)]],
  'report-deadline': (state, message, ctx) => {
    const m = message.body;
    const instance = slotInstance(state.params, state.reports, m.weight);
    // A process policy's decision comes from the driver: ask, and this message is handled again with the answer.
    const choice = decideSlot(
      state.params.policy,
      { randomCount: state.params.randomCount },
      state.policyState,
      instance,
      m.slot,
      ctx.answer,
    );
    if (choice.ask) return [state, [{ kind: 'ask', question: choice.ask }]];
    const { decision, state: policyState } = choice;
    const unavailable = instance.devices.filter((d) => d.available === false).map((d) => d.id);
    const byId = new Map(instance.devices.map((d) => [d.id, d]));
    const dataSizes = Object.fromEntries(decision.admitted.map((id) => [id, byId.get(id)?.dataSize ?? 0]));
    return [
      { ...state, policyState, slot: m.slot, reports: {} },
      [
        { kind: 'log', type: 'decision', data: { slot: m.slot, admitted: decision.admitted, bandwidth: decision.bandwidth, unavailable } },
        toDriver(DRIVER_ID, 'decision', {
          slot: m.slot,
          decision: { ...decision, unavailable },
          decidedT: ctx.t,
          queues: instance.devices.map((d) => d.queue),
          dataSizes,
        }),
      ],
    ];
  },
};

export const schedulerKind: ActorKind<SchedulerState, SchedulerParams> = {
  kind: 'scheduler',
  initialState: (params) => ({
    params,
    policyState: createPolicy(params.policy, { randomCount: params.randomCount }).initialState(params.policySeed),
    slot: -1,
    reports: {},
  }),
  transition: fromHandlers(schedulerHandlers),
};
