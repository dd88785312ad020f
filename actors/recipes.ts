/**
 * The immer the actors write their state changes with (runtime/actor.ts: state changes are immer
 * recipes). Auto-freeze is off for these recipes, set here and nowhere else: deep-freezing every
 * new state walked each typed array of a device's head and optimiser state on every message (about
 * a quarter of the device's work outside the model, measured on cell-50), and the actors never
 * mutate a state or message they were given, so the freeze guarded nothing they rely on.
 */
import { Immer, type produce as immerProduce } from 'immer';

const actorImmer = new Immer({ autoFreeze: false });

/** immer's `produce`, without auto-freeze (see above). */
export const produce: typeof immerProduce = actorImmer.produce;
