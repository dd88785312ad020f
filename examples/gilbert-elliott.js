// @ts-check
/**
 * Rayleigh fading with Gilbert-Elliott blockage, as an airlora fading module (README "Plug-ins").
 * The two-state Markov channel of E. N. Gilbert, "Capacity of a burst-noise channel", Bell System
 * Technical Journal 39(5), 1960, and E. O. Elliott, "Estimates of error rates for codes on
 * burst-noise channels", Bell System Technical Journal 42(5), 1963, used here for the gain rather
 * than for bit errors: each device is either clear or blocked (a body, a vehicle), and blocked
 * slots come in bursts.
 *
 * Device k in slot t: |h_k^t|² = X · (blocked ? 10^(−blockageDb/10) : 1), X ~ Exp(1) drawn as the
 * built-in 'rayleigh' draws it; then the state moves clear → blocked with probability `pBlock`,
 * blocked → clear with `pUnblock` (mean burst 1/pUnblock slots; blocked a fraction
 * pBlock/(pBlock+pUnblock) of the time). Every device starts clear. The state is plain JSON
 * (0/1 per device), so a run is checkpointed and resumed exactly; all draws come from the
 * seeded per-device, per-slot streams the simulator hands over.
 *
 * Scenario: "channel": { "fading": { "module": "airlora:gilbert-elliott", "params": { "pBlock": 0.05, "pUnblock": 0.3, "blockageDb": 20 } } }
 * Plain JavaScript with JSDoc types (checked by `npm run typecheck`). Outside this repository,
 * import the types from 'airlora' instead of '../index'.
 */

/** @typedef {{ blocked: number[] }} GeState */
/** @typedef {{ pBlock?: number, pUnblock?: number, blockageDb?: number }} GeParams */

/**
 * @param {GeParams} params
 * @returns {import('../index').FadingModule<GeState>}
 */
exports.createFading = (params) => {
  const pBlock = params.pBlock ?? 0.05;
  const pUnblock = params.pUnblock ?? 0.3;
  const blockageDb = params.blockageDb ?? 20;
  for (const [name, p] of /** @type {const} */ ([
    ['pBlock', pBlock],
    ['pUnblock', pUnblock],
  ]))
    if (!(p >= 0 && p <= 1)) throw new RangeError(`gilbert-elliott: ${name} must be a probability in [0, 1], got ${p}`);
  if (!(blockageDb >= 0 && Number.isFinite(blockageDb)))
    throw new RangeError(`gilbert-elliott: blockageDb must be a finite number >= 0 dB, got ${blockageDb}`);
  const blockedGain = 10 ** (-blockageDb / 10);
  return {
    name: 'gilbert-elliott',
    initialState: (context) => ({ blocked: Array.from({ length: context.deviceCount }, () => 0) }),
    step(state, slot, context) {
      /** @type {number[]} */
      const fadingPower = [];
      /** @type {number[]} */
      const blocked = [];
      for (let k = 0; k < context.deviceCount; k++) {
        const draw = context.draw(k, slot);
        const isBlocked = state.blocked[k] === 1;
        fadingPower.push(draw.exponential(1) * (isBlocked ? blockedGain : 1));
        const u = draw.uniform();
        blocked.push((isBlocked ? u >= pUnblock : u < pBlock) ? 1 : 0);
      }
      return { state: { blocked }, fadingPower };
    },
  };
};
