/**
 * Small-scale block fading of MODEL.md §3, constant within a slot:
 * - 'rayleigh': |h|² ~ Exp(1), i.i.d. across slots;
 * - 'rician': h = sqrt(κ/(κ+1)) + sqrt(1/(κ+1)) w, w ~ CN(0, 1), i.i.d. across slots (E|h|² = 1);
 * - 'gauss-markov': h⁰ ~ CN(0, 1), h^{t+1} = ρ h^t + sqrt(1 − ρ²) w^{t+1}, ρ = J0(2π f_D T_slot);
 * - 'trace': a recorded g_k^t replaces the whole gain (see trace.ts);
 * - `module`: a model from a user's module (fadingPlugin.ts), stepped slot by slot like Gauss-Markov.
 * The draws of device k in slot t come from `random.fork('fading').fork('d<k>').fork('t<t>')`: a
 * function of (seed, k, t) only, so they do not depend on the number of devices, on the order
 * in which slots are asked for, or on a resume. The only state is the Gauss-Markov h, kept in a
 * plain `FadingState` that a checkpoint can hold.
 */
import type { RandomStream } from '../util/random';
import { jakesCorrelation } from './bessel';
import { ChannelParamsError, TraceError } from './errors';
import type { Cell } from './geometry';
import type { FadingModel, FadingParams } from './params';
import { checkFadingPower, loadFadingModule, type FadingContext } from './fadingPlugin';
import { checkTraceCovers, loadTrace, type GainTrace } from './trace';

/** The channel of every device in one slot, in device order. MODEL.md §3. */
export interface FadingFrame {
  readonly slot: number;
  /** |h_k^t|² (for a trace: g_k^t over the large-scale gain of the cell). */
  readonly fadingPower: readonly number[];
  /** g_k^t = 10^{(−PL_dB − ξ_k)/10} |h_k^t|² (for a trace: the recorded gain). */
  readonly gain: readonly number[];
}

/** What a fading process carries from slot to slot: plain numbers, checkpoint-safe. MODEL.md §3. */
export interface FadingState {
  /** The last slot produced; −1 before the first. */
  readonly slot: number;
  /** Gauss-Markov only: Re and Im of h_k at `slot` (empty for the memoryless models). */
  readonly hRe: readonly number[];
  readonly hIm: readonly number[];
  /** A module's own state (plain JSON), for `channel.fading.module` only. */
  readonly plugin?: unknown;
}

/** A fading process over a drawn cell. `step` is pure; `gainsForSlot` is a caching convenience. MODEL.md §3. */
export interface FadingProcess {
  readonly model: FadingModel | 'module';
  readonly deviceCount: number;
  /** ρ of the Gauss-Markov model; 0 for the i.i.d. models; NaN for a trace or a module. */
  readonly correlation: number;
  /** The state before slot 0. */
  initialState(): FadingState;
  /**
   * The state and frame of `slot` from a state of an earlier slot. Memoryless models accept any slot;
   * Gauss-Markov walks every slot in between (and rejects going back).
   */
  step(state: FadingState, slot: number): readonly [FadingState, FadingFrame];
  /** The frame of `slot`, stepping a cached state forward (or from the start when asked for an earlier slot). */
  gainsForSlot(slot: number): FadingFrame;
}

/** Options of `createFadingProcess`. */
export interface FadingOptions {
  /** An already loaded trace (else `params.tracePath` is read) for model 'trace'. */
  readonly trace?: GainTrace;
  /** Slots the run will ask for: a trace shorter than this is rejected up front. */
  readonly slotCount?: number;
}

/** Checks the fading parameters, naming the field and the rule. MODEL.md §3. */
export function validateFadingParams(params: FadingParams): void {
  const field = (name: string) => `channel.fading.${name}`;
  if (!['rayleigh', 'rician', 'gauss-markov', 'trace'].includes(params.model))
    throw new ChannelParamsError(
      field('model'),
      `must be one of rayleigh, rician, gauss-markov, trace, got ${JSON.stringify(params.model)}`,
    );
  if (!(params.ricianK >= 0 && Number.isFinite(params.ricianK)))
    throw new ChannelParamsError(field('ricianK'), `must be a finite number ≥ 0, got ${params.ricianK}`);
  if (!(params.dopplerHz >= 0 && Number.isFinite(params.dopplerHz)))
    throw new ChannelParamsError(field('dopplerHz'), `must be a finite number ≥ 0 Hz, got ${params.dopplerHz}`);
  if (!(params.slotS > 0 && Number.isFinite(params.slotS)))
    throw new ChannelParamsError(field('slotS'), `must be a finite number > 0 s, got ${params.slotS}`);
}

function checkSlot(slot: number): void {
  if (!(Number.isSafeInteger(slot) && slot >= 0)) throw new RangeError(`slot must be an integer ≥ 0, got ${slot}`);
}

/**
 * A fading process for the devices of `cell`. `random` is the channel's stream (e.g.
 * `root.fork('channel')`); device k, slot t draw from `random.fork('fading').fork('d<k>').fork('t<t>')`. MODEL.md §3.
 */
export function createFadingProcess(params: FadingParams, cell: Cell, random: RandomStream, options: FadingOptions = {}): FadingProcess {
  validateFadingParams(params);
  const K = cell.deviceCount;
  const fadingStream = random.fork('fading');
  const deviceStreams = Array.from({ length: K }, (_, k) => fadingStream.fork(`d${k}`));
  const draw = (k: number, slot: number): RandomStream => (deviceStreams[k] as RandomStream).fork(`t${slot}`);
  const large = cell.largeScaleGain;
  const frameOf = (slot: number, fadingPower: number[]): FadingFrame => ({
    slot,
    fadingPower,
    gain: fadingPower.map((p, k) => (large[k] as number) * p),
  });
  const plugin = params.module === undefined ? undefined : loadFadingModule(params.module, params.params);
  const context: FadingContext = { deviceCount: K, draw };
  const initialState = (): FadingState =>
    plugin === undefined ? { slot: -1, hRe: [], hIm: [] } : { slot: -1, hRe: [], hIm: [], plugin: plugin.initialState(context) };

  let step: (state: FadingState, slot: number) => readonly [FadingState, FadingFrame];
  let correlation = 0;
  let memoryless = true;

  if (plugin !== undefined) {
    const module = params.module as string;
    memoryless = false;
    correlation = NaN;
    step = (state, slot) => {
      checkSlot(slot);
      if (slot <= state.slot)
        throw new RangeError(`fading module ${module} cannot go back: state is at slot ${state.slot}, asked for slot ${slot}`);
      let pluginState = state.plugin;
      let power: readonly number[] = [];
      for (let t = state.slot + 1; t <= slot; t++) {
        const next = plugin.step(pluginState, t, context);
        power = checkFadingPower(module, t, K, next?.fadingPower);
        pluginState = next.state;
      }
      return [{ slot, hRe: [], hIm: [], plugin: pluginState }, frameOf(slot, power.slice())];
    };
  } else if (params.model === 'rayleigh') {
    step = (_state, slot) => {
      checkSlot(slot);
      const power = Array.from({ length: K }, (_, k) => draw(k, slot).exponential(1));
      return [{ slot, hRe: [], hIm: [] }, frameOf(slot, power)];
    };
  } else if (params.model === 'rician') {
    const los = Math.sqrt(params.ricianK / (params.ricianK + 1));
    const scatter = Math.sqrt(1 / (2 * (params.ricianK + 1)));
    step = (_state, slot) => {
      checkSlot(slot);
      const power = Array.from({ length: K }, (_, k) => {
        const s = draw(k, slot);
        const re = los + scatter * s.normal();
        const im = scatter * s.normal();
        return re * re + im * im;
      });
      return [{ slot, hRe: [], hIm: [] }, frameOf(slot, power)];
    };
  } else if (params.model === 'gauss-markov') {
    const rho = jakesCorrelation(params.dopplerHz, params.slotS);
    const innovation = Math.sqrt(Math.max(0, 1 - rho * rho));
    correlation = rho;
    memoryless = false;
    const half = Math.SQRT1_2;
    step = (state, slot) => {
      checkSlot(slot);
      if (slot <= state.slot)
        throw new RangeError(`gauss-markov fading cannot go back: state is at slot ${state.slot}, asked for slot ${slot}`);
      let re = state.hRe.slice();
      let im = state.hIm.slice();
      for (let t = state.slot + 1; t <= slot; t++) {
        const first = t === 0;
        const nextRe: number[] = [];
        const nextIm: number[] = [];
        for (let k = 0; k < K; k++) {
          const s = draw(k, t);
          const wRe = half * s.normal();
          const wIm = half * s.normal();
          nextRe.push(first ? wRe : rho * (re[k] as number) + innovation * wRe);
          nextIm.push(first ? wIm : rho * (im[k] as number) + innovation * wIm);
        }
        re = nextRe;
        im = nextIm;
      }
      const power = re.map((x, k) => x * x + (im[k] as number) ** 2);
      return [{ slot, hRe: re, hIm: im }, frameOf(slot, power)];
    };
  } else {
    let trace = options.trace;
    if (trace === undefined) {
      if (params.tracePath === undefined || params.tracePath === '')
        throw new ChannelParamsError('channel.fading.tracePath', "is required when fading.model is 'trace'");
      trace = loadTrace(params.tracePath);
    }
    checkTraceCovers(trace, K, options.slotCount);
    const recorded = trace;
    correlation = NaN;
    step = (_state, slot) => {
      checkSlot(slot);
      if (slot >= recorded.slotCount)
        throw new TraceError(recorded.file, undefined, `trace too short: it has ${recorded.slotCount} slots, slot ${slot} was asked for`);
      const gain = Array.from({ length: K }, (_, k) => (recorded.gains[k] as readonly number[])[slot] as number);
      const fadingPower = gain.map((g, k) => g / (large[k] as number));
      return [
        { slot, hRe: [], hIm: [] },
        { slot, fadingPower, gain },
      ];
    };
  }

  let cached: FadingState = initialState();
  let cachedFrame: FadingFrame | undefined;
  const stepFn = step;
  return {
    model: plugin === undefined ? params.model : 'module',
    deviceCount: K,
    correlation,
    initialState,
    step: stepFn,
    gainsForSlot(slot: number): FadingFrame {
      if (cachedFrame !== undefined && cachedFrame.slot === slot) return cachedFrame;
      const from = memoryless || slot > cached.slot ? cached : initialState();
      const [state, frame] = stepFn(from, slot);
      cached = state;
      cachedFrame = frame;
      return frame;
    },
  };
}
