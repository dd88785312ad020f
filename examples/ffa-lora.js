// @ts-check
/**
 * The server side of FFA-LoRA as an airlora aggregation strategy (README "Plug-ins"): Y. Sun, Z. Li,
 * Y. Li and B. Ding, "Improving LoRA in Privacy-preserving Federated Learning", ICLR 2024. FFA-LoRA
 * freezes the randomly initialised A factors and trains and averages only B: with A shared, the
 * average of the products B_k·A is the product of the averaged B with A, so aggregation is exact
 * (plain FedAvg of A and B separately is not). Here the server keeps every A at the global one and
 * averages B and the head weighted by data size |D_k|, in device-id order. The simulated devices
 * still move A during their local steps (this strategy only decides what the server keeps), so
 * this is FFA-LoRA's aggregation rule, not its local training.
 *
 * Scenario: "training": { "aggregation": { "module": "airlora:ffa-lora" } }
 * Flower's shape: `configureFit` is left out (every admitted device starts from the
 * global model); `aggregateFit(round, results, failures, global)` returns the new global model.
 */

/** @typedef {Record<string, Float32Array>} Weights */

/**
 * Σ w_k x_k / Σ w_k for each tensor name, in the order given (float64 sums).
 * @param {{ weights: Weights, weight: number }[]} items
 * @param {(name: string) => boolean} take which tensors to average
 * @param {Weights} keep where the others come from
 * @returns {Weights}
 */
function weightedMean(items, take, keep) {
  const total = items.reduce((sum, i) => sum + i.weight, 0);
  /** @type {Weights} */
  const out = {};
  for (const name of Object.keys(keep)) {
    if (!take(name)) {
      out[name] = keep[name] ?? new Float32Array();
      continue;
    }
    const acc = new Float64Array(keep[name]?.length ?? 0);
    for (const { weights, weight } of items) {
      const x = weights[name];
      if (!x || x.length !== acc.length) throw new Error(`ffa-lora: tensor ${name} is missing or has another size in an upload`);
      for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] ?? 0) + (weight / total) * (x[j] ?? 0);
    }
    out[name] = Float32Array.from(acc);
  }
  return out;
}

/** @returns {import('../index').PluginStrategy} */
exports.createStrategy = () => ({
  name: 'ffa-lora',
  aggregateFit(_round, results, _failures, global) {
    if (results.length === 0) return global;
    const ordered = [...results].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    const lora = weightedMean(
      ordered.map((r) => ({ weights: r.lora, weight: r.dataSize })),
      (name) => name.endsWith('/B'),
      global.lora,
    );
    const head = weightedMean(
      ordered.map((r) => ({ weights: r.head, weight: r.dataSize })),
      () => true,
      global.head,
    );
    return { lora, head };
  },
});
