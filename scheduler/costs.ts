/**
 * Latency and energy of one device in one round, MODEL.md §4, with the rates of §3
 * (channels/linkBudget.ts). `deviceCosts` is the reference form, used to report decisions and to
 * check them; `prepareSlot` rewrites the same formulas in the variable u = a/β (the SNR on the
 * device's slice) that the optimiser works in (scheduler/bandwidthSplit.ts).
 */
import { noisePsdWPerHz } from '../channels/linkBudget';
import { linkStateOf } from '../channels/linkState';
import { transferCost } from '../channels/transfer';
import type { SlotDevice, SlotInstance } from './instance';

/** The terms of T_k and E_k (MODEL.md §4). */
export interface DeviceCosts {
  /** t_k^dev = τ F_k^dev / (f_k c_k). */
  readonly deviceComputeS: number;
  /** t_k^srv = τ F^srv n / F_s. */
  readonly serverComputeS: number;
  /** t_k^ul = (τ (s_a + s_g) + s_h) / r_k^ul(β). */
  readonly uplinkS: number;
  /** t_k^dl = (τ s_f + s_h) / r_k^dl(β). */
  readonly downlinkS: number;
  /** T_k = t^dev + t^srv + t^ul + t^dl. */
  readonly latencyS: number;
  /** κ (τ F_k^dev / c_k) f_k². */
  readonly computeEnergyJ: number;
  /** p_k t_k^ul. */
  readonly uplinkEnergyJ: number;
  /** E_k = compute + uplink energy. */
  readonly energyJ: number;
}

/** Bits a device sends up in one round: τ (s_a + s_g) + s_h. MODEL.md §4. */
export function uplinkBitsPerRound(instance: SlotInstance): number {
  const p = instance.payloadBits;
  return instance.localIterations * (p.activations + p.gradients) + p.head;
}

/** Bits a device receives in one round: τ s_f + s_h. MODEL.md §4. */
export function downlinkBitsPerRound(instance: SlotInstance): number {
  const p = instance.payloadBits;
  return instance.localIterations * p.features + p.head;
}

/** Device compute of `flops`: time F / (f c) and energy κ (F / c) f². MODEL.md §4. The device actor charges its iterations with it. */
export function deviceCompute(flops: number, cpuHz: number, flopsPerCycle: number, kappa: number): { timeS: number; energyJ: number } {
  return { timeS: flops / (cpuHz * flopsPerCycle), energyJ: kappa * (flops / flopsPerCycle) * cpuHz * cpuHz };
}

/** Server compute time of `flops` per device with n admitted devices sharing F_s equally: F n / F_s. MODEL.md §4. */
export function serverComputeS(flops: number, admittedCount: number, serverFlops: number): number {
  return (flops * admittedCount) / serverFlops;
}

/**
 * Latency and energy of `device` with bandwidth fraction `fraction` in a round with
 * `admittedCount` admitted devices (MODEL.md §4; rates of §3). A zero rate gives an infinite time.
 * The airtimes and the transmit energy come from the medium's own charge (channels/transfer.ts
 * `transferCost` on the link of channels/linkState.ts), so the prediction and what the simulation
 * charges are one computation.
 */
export function deviceCosts(instance: SlotInstance, device: SlotDevice, fraction: number, admittedCount: number): DeviceCosts {
  const radio = {
    bandwidthHz: instance.bandwidthHz,
    downlinkBandwidthHz: instance.downlinkBandwidthHz,
    noisePsdWPerHz: noisePsdWPerHz(instance.noisePsdDbmPerHz, instance.noiseFigureDb),
    powerW: device.powerW,
    serverPowerW: instance.serverPowerW,
  };
  const tau = instance.localIterations;
  const compute = deviceCompute(tau * device.deviceFlopsPerIteration, device.cpuHz, device.flopsPerCycle, instance.kappa);
  const serverS = serverComputeS(tau * instance.serverFlopsPerIteration, admittedCount, instance.serverFlops);
  const link = linkStateOf(0, true, device.gain, 1, fraction, fraction, radio);
  const up = transferCost(uplinkBitsPerRound(instance), 'uplink', link, device.powerW);
  const down = transferCost(downlinkBitsPerRound(instance), 'downlink', link, device.powerW);
  return {
    deviceComputeS: compute.timeS,
    serverComputeS: serverS,
    uplinkS: up.airtimeS,
    downlinkS: down.airtimeS,
    latencyS: compute.timeS + serverS + up.airtimeS + down.airtimeS,
    computeEnergyJ: compute.energyJ,
    uplinkEnergyJ: up.energyJ,
    energyJ: compute.energyJ + up.energyJ,
  };
}

/** T_k(β, n), MODEL.md §4. */
export function deviceLatencyS(instance: SlotInstance, device: SlotDevice, fraction: number, admittedCount: number): number {
  return deviceCosts(instance, device, fraction, admittedCount).latencyS;
}

/** E_k(β), MODEL.md §4 (does not depend on n). */
export function deviceEnergyJ(instance: SlotInstance, device: SlotDevice, fraction: number): number {
  return deviceCosts(instance, device, fraction, 1).energyJ;
}

/**
 * The slot's constants in the optimiser's variable u = a_k/β (MODEL.md §3–§4), structure of arrays.
 * With a_k = p_k g_k / (B N0) (the SNR over the whole band) and f(u) = u / ln(1+u):
 *   t^ul = cUp_k f(u),  cUp_k = (τ(s_a+s_g)+s_h) ln2 / (B a_k);
 *   t^dl = cDown_k u,   cDown_k = (τ s_f + s_h) / (a_k B_dl log2(1 + P_s g_k/(B_dl N0)));
 *   T_k = fixedS_k + serverS·n + t^ul + t^dl;   E_k = computeJ_k + p_k t^ul.
 */
export interface PreparedSlot {
  readonly count: number;
  /** a_k; 0 for a device with no link. */
  readonly snr: Float64Array;
  readonly cUp: Float64Array;
  readonly cDown: Float64Array;
  /** t_k^dev. */
  readonly fixedS: Float64Array;
  /** τ F^srv / F_s: server time per admitted device. */
  readonly serverS: number;
  readonly computeJ: Float64Array;
  readonly powerW: Float64Array;
  readonly deadlineS: number;
  /** Whether the device may be considered (available and with a link). */
  readonly usable: Uint8Array;
}

/** Precomputes the constants of `prepareSlot`'s form for every device (MODEL.md §3–§4). */
export function prepareSlot(instance: SlotInstance): PreparedSlot {
  const k = instance.devices.length;
  const n0 = noisePsdWPerHz(instance.noisePsdDbmPerHz, instance.noiseFigureDb);
  const tau = instance.localIterations;
  const upBits = uplinkBitsPerRound(instance);
  const downBits = downlinkBitsPerRound(instance);
  const snr = new Float64Array(k);
  const cUp = new Float64Array(k);
  const cDown = new Float64Array(k);
  const fixedS = new Float64Array(k);
  const computeJ = new Float64Array(k);
  const powerW = new Float64Array(k);
  const usable = new Uint8Array(k);
  instance.devices.forEach((d, i) => {
    const a = (d.powerW * d.gain) / (instance.bandwidthHz * n0);
    const dlSpectralEff = Math.log2(1 + (instance.serverPowerW * d.gain) / (instance.downlinkBandwidthHz * n0));
    snr[i] = a;
    powerW[i] = d.powerW;
    const compute = deviceCompute(tau * d.deviceFlopsPerIteration, d.cpuHz, d.flopsPerCycle, instance.kappa);
    fixedS[i] = compute.timeS;
    computeJ[i] = compute.energyJ;
    const linked = a > 0 && dlSpectralEff > 0 && Number.isFinite(a);
    usable[i] = d.available !== false && linked ? 1 : 0;
    cUp[i] = linked ? (upBits * Math.LN2) / (instance.bandwidthHz * a) : 0;
    cDown[i] = linked ? downBits / (a * instance.downlinkBandwidthHz * dlSpectralEff) : 0;
  });
  return {
    count: k,
    snr,
    cUp,
    cDown,
    fixedS,
    serverS: serverComputeS(tau * instance.serverFlopsPerIteration, 1, instance.serverFlops),
    computeJ,
    powerW,
    deadlineS: instance.deadlineS,
    usable,
  };
}

/** Tolerance on T_k ≤ T_max (rounding in the sums of airtimes and compute times), s. */
export const DEADLINE_TOLERANCE_S = 1e-9;

/** Whether a device that took `latencyS` met the deadline T_max. MODEL.md §4. */
export function meetsDeadline(latencyS: number, deadlineS: number): boolean {
  return latencyS <= deadlineS + DEADLINE_TOLERANCE_S;
}

/**
 * The round's latency, MODEL.md §4: max T_k over the admitted devices (`undefined`: never
 * delivered), or T_max when one of them did not deliver in time; 0 with none admitted.
 */
export function roundLatencyS(latencies: readonly (number | undefined)[], deadlineS: number): number {
  let last = 0;
  for (const t of latencies) {
    if (t === undefined || !meetsDeadline(t, deadlineS)) return deadlineS;
    last = Math.max(last, t);
  }
  return last;
}
