// @ts-check
/**
 * Proportional-fair scheduling as an airlora policy module (README "Plug-ins"), after the
 * proportional-fair scheduler of Qualcomm's HDR/1xEV-DO downlink: A. Jalali, R. Padovani and
 * R. Pankaj, "Data throughput of CDMA-HDR, a high efficiency-high data rate personal communication
 * wireless system", IEEE VTC 2000; analysed by P. Viswanath, D. Tse and R. Laroia, "Opportunistic
 * beamforming using dumb antennas", IEEE Trans. Inf. Theory 48(6), 2002.
 *
 * Each slot, every device that reported gets the metric r_k / R̄_k: its spectral efficiency over
 * the whole band now, r_k = log2(1 + p_k g_k / (B N0)), over R̄_k, an exponentially weighted mean
 * of what it was served (r_k when admitted, 0 otherwise) with time constant `timeConstant` slots.
 * The `count` devices with the highest metric are admitted with equal shares of the band; one whose
 * share is too small for T_max straggles (the simulator's rule, MODEL.md §7). The state is plain
 * JSON (the means by id), so a run is checkpointed and resumed exactly.
 *
 * Scenario: "scheduler": { "policy": { "module": "airlora:proportional-fair", "params": { "count": 10 } } }
 * Plain JavaScript with JSDoc types (checked by `npm run typecheck`): it loads in worker threads
 * without a build step. Outside this repository, import the types from 'airlora' instead of '../index'.
 */

/** @typedef {{ means: Record<string, number> }} PfState */
/** @typedef {{ count?: number, timeConstant?: number }} PfParams */

/** A served rate no device starts below, so that the first metric is finite (bit/s/Hz). */
const FLOOR = 1e-3;

/**
 * @param {PfParams} params
 * @returns {import('../index').PluginPolicy<PfState>}
 */
exports.createPolicy = (params) => {
  const count = params.count ?? 10;
  const timeConstant = params.timeConstant ?? 20;
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`proportional-fair: count must be an integer >= 1, got ${count}`);
  if (!(timeConstant >= 1)) throw new RangeError(`proportional-fair: timeConstant must be >= 1 slot, got ${timeConstant}`);
  return {
    name: 'proportional-fair',
    initialState: () => ({ means: {} }),
    decide(state, instance) {
      const noiseWPerHz = 10 ** ((instance.noisePsdDbmPerHz + instance.noiseFigureDb - 30) / 10);
      const rates = instance.devices.map((d) =>
        d.available === false ? 0 : Math.log2(1 + (d.powerW * d.gain) / (instance.bandwidthHz * noiseWPerHz)),
      );
      const mean = (/** @type {string} */ id) => Math.max(state.means[id] ?? FLOOR, FLOOR);
      const ranked = instance.devices
        .map((d, k) => ({ id: d.id, k, metric: (rates[k] ?? 0) / mean(d.id) }))
        .filter(({ k }) => (rates[k] ?? 0) > 0)
        .sort((x, y) => y.metric - x.metric || x.k - y.k);
      const admitted = ranked.slice(0, count).map((r) => r.id);
      /** @type {Record<string, number>} */
      const bandwidth = {};
      for (const id of admitted) bandwidth[id] = 1 / admitted.length;
      /** @type {Record<string, number>} */
      const means = {};
      instance.devices.forEach((d, k) => {
        const served = admitted.includes(d.id) ? (rates[k] ?? 0) : 0;
        means[d.id] = (1 - 1 / timeConstant) * mean(d.id) + served / timeConstant;
      });
      return { decision: { admitted, bandwidth }, state: { means } };
    },
  };
};
