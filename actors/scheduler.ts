/**
 * Scheduler actor (MODEL.md §1, §6): collects the devices' queue reports of the slot and, on the
 * driver's `decide`, calls the pure policy once and publishes the decision. A device that did not
 * report this slot is unavailable, and the decision says so. It only adapts messages to calls.
 */
import type { ActorKind, Effect } from '../runtime/actor';
import type { PolicySpec } from '../runtime/scenario';
import { createPolicy } from '../scheduler';
import { decideSlot } from '../scheduler/plugins/slotPolicy';
import type { SlotInstance } from '../scheduler/instance';
import type { Decide, QueueReport } from './protocol';
import { DRIVER_ID, SERVER_ID, deviceId, type PayloadCosts } from './params';

/** How long the scheduler waits for queue reports after the slot starts (control channel), s. */
export const REPORT_WINDOW_S = 1e-3;

export interface SchedulerParams {
  policy: PolicySpec;
  randomCount: number;
  policySeed: number;
  deviceCount: number;
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
    if (r) return { id: r.id, queue: r.queue, gain: r.gain, powerW: r.powerW, cpuHz: r.cpuHz, flopsPerCycle: r.flopsPerCycle, deviceFlopsPerIteration: r.deviceFlopsPerIteration, dataSize: r.dataSize };
    return { id: deviceId(k), queue: 0, gain: 0, powerW: 0, cpuHz: 1, flopsPerCycle: 1, deviceFlopsPerIteration: params.costs.deviceFlopsPerIteration, dataSize: 0, available: false };
  });
  return {
    ...params.constants,
    weight,
    payloadBits: { activations: params.costs.activationsBits, features: params.costs.featuresBits, gradients: params.costs.gradientsBits, head: params.costs.headBits },
    serverFlopsPerIteration: params.costs.serverFlopsPerIteration,
    devices,
  };
}

export const schedulerKind: ActorKind<SchedulerState, SchedulerParams> = {
  kind: 'scheduler',
  initialState: (params) => ({ params, policyState: createPolicy(params.policy, { randomCount: params.randomCount }).initialState(params.policySeed), slot: -1, reports: {} }),
  transition(state, message, ctx) {
    switch (message.type) {
      case 'queue-report': {
        const r = message.body as QueueReport;
        return [{ ...state, reports: { ...state.reports, [r.index]: r } }, []] as const;
      }
      case 'decide':
        // Wait one report window: the reports sent this step arrive with the window's end, earlier in t.
        return [state, [{ kind: 'send', to: ctx.self, type: 'report-deadline', body: message.body, delayS: REPORT_WINDOW_S }]] as const;
      case 'report-deadline': {
        const m = message.body as Decide;
        const instance = slotInstance(state.params, state.reports, m.weight);
        // A process policy's decision comes from the driver: ask, and this message is handled again with the answer.
        const choice = decideSlot(state.params.policy, { randomCount: state.params.randomCount }, state.policyState, instance, m.slot, ctx.answer);
        if (choice.ask) return [state, [{ kind: 'ask', question: choice.ask }]] as const;
        const { decision, state: policyState } = choice;
        const unavailable = instance.devices.filter((d) => d.available === false).map((d) => d.id);
        const published = { ...decision, unavailable };
        const byId = new Map(instance.devices.map((d) => [d.id, d]));
        const gains = Object.fromEntries(decision.admitted.map((id) => [id, byId.get(id)?.gain ?? 0]));
        const dataSizes = Object.fromEntries(decision.admitted.map((id) => [id, byId.get(id)?.dataSize ?? 0]));
        const effects: Effect[] = [
          { kind: 'log', type: 'decision', data: { slot: m.slot, admitted: published.admitted, bandwidth: published.bandwidth, unavailable } },
          { kind: 'send', to: SERVER_ID, type: 'decision', body: { slot: m.slot, decision: published, gains, dataSizes } },
          { kind: 'send', to: DRIVER_ID, type: 'decision', body: { slot: m.slot, decision: published, queues: instance.devices.map((d) => d.queue) } },
          ...published.admitted.map((id): Effect => ({ kind: 'send', to: id, type: 'admission', body: { slot: m.slot, fraction: published.bandwidth[id] ?? 0, admittedCount: published.admitted.length } })),
        ];
        return [{ ...state, policyState, slot: m.slot, reports: {} }, effects] as const;
      }
      default:
        throw new Error(`${ctx.self}: unexpected message ${message.type}`);
    }
  },
};
