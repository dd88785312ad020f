/**
 * The scenario file: the single source of truth of a run (INTERFACE.md "Scenario files",
 * defaults of MODEL.md §8). Validated with zod at load time; unknown fields are errors.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { DIGIT_COUNT_TOTAL, PRETRAIN_POOL } from '../models/data/digits';
import { SENTENCE_COUNT_TOTAL, SENTIMENT_PRETRAIN_POOL } from '../models/data/sentiment';
import { withResolvedPlugins } from './plugins/policySpec';
import { policySpecSchema } from '../scheduler/policyChoice';
import { strategySpecSchema } from '../actors/strategyChoice';

/** Each task's corpus: its size, and the head the committed foundation model was pre-trained on (the test split is the tail). */
const CORPUS = {
  digits: { samples: DIGIT_COUNT_TOTAL, pretrainPool: PRETRAIN_POOL },
  sentiment: { samples: SENTENCE_COUNT_TOTAL, pretrainPool: SENTIMENT_PRETRAIN_POOL },
} as const;

const positive = () => z.number().positive();
const nonNegative = () => z.number().nonnegative();
const probability = () => z.number().min(0).max(1);

export {
  POLICY_NAMES,
  policySpecSchema,
  type PolicyName,
  type PolicySpec,
  type ModulePolicySpec,
  type CommandPolicySpec,
} from '../scheduler/policyChoice';
export { strategySpecSchema, type StrategySpec } from '../actors/strategyChoice';

const cellSchema = z.strictObject({
  /** Cell radius R. */
  radiusM: positive().default(500),
  /** Minimum distance d_min. */
  minDistanceM: positive().default(50),
  /** Log-normal shadowing standard deviation σ_sh. */
  shadowingDb: nonNegative().default(8),
});

const fadingSchema = z.strictObject({
  model: z.enum(['rayleigh', 'rician', 'gauss-markov', 'trace']).default('rayleigh'),
  /** Rician K-factor κ_R (linear), for model 'rician'. */
  ricianK: nonNegative().default(3),
  /** Doppler frequency f_D, for 'gauss-markov': ρ = J0(2π f_D T_slot). */
  dopplerHz: nonNegative().default(10),
  /** Slot duration T_slot used by the Jakes correlation. */
  slotS: positive().default(0.01),
  /** Path of a recorded gain trace (CSV or JSON: device, slot, gain), for model 'trace'. */
  tracePath: z.string().min(1).optional(),
  /** A fading model from a module exporting `createFading(params)` (README "Plug-ins"); `model` is then ignored. */
  module: z.string().min(1).optional(),
  /** Handed to the module's `createFading(params)`. */
  params: z.unknown().optional(),
});

const channelSchema = z.strictObject({
  bandwidthHz: positive().default(20e6),
  downlinkBandwidthHz: positive().default(20e6),
  noisePsdDbmPerHz: z.number().default(-174),
  noiseFigureDb: nonNegative().default(7),
  serverPowerDbm: z.number().default(43),
  fading: fadingSchema.default(() => fadingSchema.parse({})),
});

const devicesSchema = z.strictObject({
  /** K. */
  count: z.number().int().min(1).max(100000).default(50),
  cpuHzMin: positive().default(1e9),
  cpuHzMax: positive().default(2e9),
  flopsPerCycle: positive().default(16),
  /** Transmit power p_k. */
  powerDbm: z.number().default(23),
  /** Long-run per-device energy budget Ē_k per round. */
  energyBudgetJ: positive().default(0.05),
  /** Effective switched capacitance κ. */
  kappa: positive().default(1e-28),
});

const serverSchema = z.strictObject({
  /** Server compute F_s, shared equally among admitted devices. */
  flops: positive().default(5e13),
});

const modelSchema = z.strictObject({
  task: z.enum(['digits', 'sentiment']).default('digits'),
  dModel: z.number().int().min(8).default(128),
  blocks: z.number().int().min(1).max(24).default(2),
  heads: z.number().int().min(1).default(4),
  ffnDim: z.number().int().min(8).default(256),
  loraRank: z.number().int().min(1).default(8),
  loraTargets: z
    .array(z.enum(['query', 'key', 'value', 'output']))
    .min(1)
    .default(['query', 'value']),
  /** Pre-trained checkpoint folder (tfjs file:// format); empty for the built-in one. */
  checkpoint: z.string().default(''),
  /** 'actual' counts FLOPs and payloads from the trained model's shapes; a named profile charges those of a real foundation model. */
  costProfile: z.enum(['actual', 'bert-base']).default('actual'),
  /** Bits per element on the wire, q. */
  bitsPerElement: z.number().int().min(1).max(64).default(32),
});

const trainingSchema = z.strictObject({
  /** T: number of rounds (slots). */
  rounds: z.number().int().min(1).default(100),
  /** τ: local iterations per round. */
  localIterations: z.number().int().min(1).default(5),
  /** b: mini-batch size. */
  batchSize: z.number().int().min(1).default(16),
  learningRate: positive().default(1e-3),
  /** T_max: round deadline. */
  deadlineS: positive().default(2),
  aggregation: strategySpecSchema.default('fedavg'),
  /** Test samples scored by the evaluator after each round. */
  evalSamples: z.number().int().min(1).default(1000),
});

const dataSchema = z.strictObject({
  /** Dirichlet α of the label skew. */
  dirichletAlpha: positive().default(0.5),
  /** Dirichlet concentration of the quantity skew; 0 disables it (equal shares). */
  quantitySkewAlpha: nonNegative().default(0),
  /** Training samples spread over all devices. */
  trainSamples: z.number().int().min(1).default(8000),
  testSamples: z.number().int().min(1).default(1000),
});

const schedulerSchema = z.strictObject({
  policy: policySpecSchema.default('lyapunov'),
  /** Lyapunov trade-off V. */
  V: nonNegative().default(10),
  /** Φ_empty, the penalty of an empty round. */
  phiEmpty: positive().default(2),
  penalty: z.enum(['count', 'data']).default('count'),
  /** ρ_c in w_t = ρ_c^{T−1−t}. */
  roundWeightBase: z.number().gt(0).max(1).default(1),
  /** n for the 'random' baseline. */
  randomCount: z.number().int().min(1).default(10),
});

const faultsSchema = z.strictObject({
  /** Probability that an admitted device drops out in a slot. */
  dropoutProbability: probability().default(0),
  /** Windows of slots during which a device sends nothing. */
  silentWindows: z
    .array(z.strictObject({ device: z.number().int().min(0), fromSlot: z.number().int().min(0), toSlot: z.number().int().min(0) }))
    .default([]),
  /** Windows of slots during which a device's link is down (gain 0). */
  linkOutages: z
    .array(z.strictObject({ device: z.number().int().min(0), fromSlot: z.number().int().min(0), toSlot: z.number().int().min(0) }))
    .default([]),
});

const runtimeSchema = z.strictObject({
  /** Worker threads; 0 picks the number of cores. */
  workers: z.number().int().min(0).max(256).default(0),
  /** Edge-server shards and evaluator shards (pinned one per worker slot). Part of the run, not of the pool: the log depends on it, never on the worker count. */
  shards: z.number().int().min(1).max(256).default(8),
  /**
   * Most devices a shard runs through the encoder in one multi-adapter batched pass (1: a pass per
   * device). Part of the run: it groups the arithmetic (results equal to within rounding).
   */
  batchDevices: z.number().int().min(1).max(1024).default(8),
  /** Write a checkpoint every N rounds. */
  checkpointEvery: z.number().int().min(1).default(10),
  /**
   * Compute backend (models/backend.ts): `auto` (onnxruntime if it loads, else wasm, else cpu) or
   * one by name. The one used is written in the log header; a replay runs on it.
   */
  backend: z.enum(['auto', 'onnxruntime', 'wasm', 'cpu', 'node']).default('auto'),
  /**
   * With hosts on NATS workers (`airlora run --nats URL --hosts N`): seconds a host call may go
   * without a sign from its worker before the host counts as lost (killed, stopped, cut off) and its
   * actors restart on another worker from the slot's start (default 60). Not part of the run: the log
   * is the same whatever it is.
   */
  hostTimeoutS: z.number().positive().max(3600).optional(),
});

/**
 * One cell of a multi-cell system (README "Several cells"): a name, and the sections that differ
 * from the scenario's own. A section given here replaces the scenario's section whole (its unset
 * fields take the defaults); one left out is the scenario's. Model, data, training and runtime are
 * the system's.
 */
const cellEntrySchema = z.strictObject({
  /** The cell's name: its actors' id prefix (`NAME.d0`, `NAME.server`, …). */
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'must start with a letter and hold only letters, digits, _ and -'),
  cell: cellSchema.optional(),
  channel: channelSchema.optional(),
  devices: devicesSchema.optional(),
  server: serverSchema.optional(),
  scheduler: schedulerSchema.optional(),
  faults: faultsSchema.optional(),
});
export type CellEntry = z.infer<typeof cellEntrySchema>;

/** The cloud aggregator above the cells' edge servers (hierarchical FedAvg, MODEL.md §2). */
const cloudSchema = z.strictObject({
  /** H: the cloud merges the edge servers' LoRA adapters and heads after every H rounds. */
  everyRounds: z.number().int().min(1).default(2),
  /** The backhaul link edge ↔ cloud, each way (channels/backhaul.ts). */
  backhaul: z
    .strictObject({
      /** Rate of the link, bit/s. */
      rateBps: positive().default(1e8),
      /** One-way latency, s. */
      latencyS: nonNegative().default(0.01),
    })
    .default(() => ({ rateBps: 1e8, latencyS: 0.01 })),
});

/** One entry of a declared topology: `count` actors of one kind; `{i}` in `id` and `group` is the index. */
const topologyActorSchema = z.strictObject({
  id: z.string().min(1),
  kind: z.string().min(1),
  /** Module exporting the kind: `airlora:examples/cells` (shipped), an absolute path, or a path relative to the scenario file. */
  module: z.string().min(1),
  count: z.number().int().min(1).max(100000).default(1),
  params: z.unknown().optional(),
  /** Co-location group (actors that talk every iteration). */
  group: z.string().min(1).optional(),
  supervisor: z.string().min(1).optional(),
  /** Receives the slot clock. */
  tick: z.boolean().optional(),
  /** Who this actor talks to (documentation and placement hints). */
  talksTo: z.array(z.string().min(1)).optional(),
});

/** A topology of the user's own actor kinds, run instead of the built-in simulation (README "Your own topology"). */
const topologySchema = z.strictObject({
  /**
   * What drives the actors: 'clock' (the default), the slot clock alone; 'simulation', the built-in
   * round driver and live medium (the actors `airlora topology` prints for a scenario).
   */
  driver: z.enum(['clock', 'simulation']).optional(),
  actors: z.array(topologyActorSchema).min(1),
});

const scenarioBaseSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1).default('unnamed'),
  description: z.string().default(''),
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  cell: cellSchema.default(() => cellSchema.parse({})),
  channel: channelSchema.default(() => channelSchema.parse({})),
  devices: devicesSchema.default(() => devicesSchema.parse({})),
  server: serverSchema.default(() => serverSchema.parse({})),
  model: modelSchema.default(() => modelSchema.parse({})),
  training: trainingSchema.default(() => trainingSchema.parse({})),
  data: dataSchema.default(() => dataSchema.parse({})),
  scheduler: schedulerSchema.default(() => schedulerSchema.parse({})),
  faults: faultsSchema.default(() => faultsSchema.parse({})),
  runtime: runtimeSchema.default(() => runtimeSchema.parse({})),
  topology: topologySchema.optional(),
  /** Several cells under one cloud aggregator (README "Several cells"); without it, one cell. */
  cells: z.array(cellEntrySchema).min(1).optional(),
  cloud: cloudSchema.optional(),
});

export const scenarioSchema = scenarioBaseSchema.superRefine((s, ctx) => {
  if (s.cell.minDistanceM >= s.cell.radiusM)
    ctx.addIssue({ code: 'custom', path: ['cell', 'minDistanceM'], message: `must be less than cell.radiusM (${s.cell.radiusM})` });
  if (s.devices.cpuHzMin > s.devices.cpuHzMax)
    ctx.addIssue({ code: 'custom', path: ['devices', 'cpuHzMin'], message: `must not exceed devices.cpuHzMax (${s.devices.cpuHzMax})` });
  if (s.scheduler.randomCount > s.devices.count)
    ctx.addIssue({
      code: 'custom',
      path: ['scheduler', 'randomCount'],
      message: `admits more devices than exist (devices.count = ${s.devices.count})`,
    });
  if (s.channel.fading.model === 'trace' && !s.channel.fading.tracePath)
    ctx.addIssue({ code: 'custom', path: ['channel', 'fading', 'tracePath'], message: "is required when fading.model is 'trace'" });
  if (s.topology) {
    const ids = new Set<string>();
    s.topology.actors.forEach((a, i) => {
      if (a.count > 1 && !a.id.includes('{i}'))
        ctx.addIssue({ code: 'custom', path: ['topology', 'actors', i, 'id'], message: `must contain {i} when count is ${a.count}` });
      for (let k = 0; k < a.count; k++) {
        const id = a.id.replaceAll('{i}', String(k));
        if (ids.has(id)) ctx.addIssue({ code: 'custom', path: ['topology', 'actors', i, 'id'], message: `duplicate actor id '${id}'` });
        ids.add(id);
      }
    });
  }
  checkCells(s, ctx);
  const corpus = CORPUS[s.model.task];
  if (s.data.trainSamples + s.data.testSamples > corpus.samples)
    ctx.addIssue({
      code: 'custom',
      path: ['data', 'trainSamples'],
      message: `plus data.testSamples (${s.data.testSamples}) must be at most ${corpus.samples}, the size of model.task '${s.model.task}''s corpus`,
    });
  if (!s.model.checkpoint && s.data.testSamples > corpus.samples - corpus.pretrainPool)
    ctx.addIssue({
      code: 'custom',
      path: ['data', 'testSamples'],
      message: `must be at most ${corpus.samples - corpus.pretrainPool} for model.task '${s.model.task}': the test split is the corpus's tail, and the committed foundation model was pre-trained on its first ${corpus.pretrainPool} samples`,
    });
  if (s.model.dModel % s.model.heads !== 0)
    ctx.addIssue({ code: 'custom', path: ['model', 'heads'], message: `must divide model.dModel (${s.model.dModel})` });
  for (const [i, w] of [...s.faults.silentWindows.entries()])
    if (w.device >= s.devices.count)
      ctx.addIssue({
        code: 'custom',
        path: ['faults', 'silentWindows', i, 'device'],
        message: `no such device (devices.count = ${s.devices.count})`,
      });
  for (const [i, w] of [...s.faults.linkOutages.entries()])
    if (w.device >= s.devices.count)
      ctx.addIssue({
        code: 'custom',
        path: ['faults', 'linkOutages', i, 'device'],
        message: `no such device (devices.count = ${s.devices.count})`,
      });
});

/** The rules a cell breaks against the system (names, devices named by faults, the data to share), each naming its field. */
function checkCells(s: z.infer<typeof scenarioBaseSchema>, ctx: z.RefinementCtx): void {
  if (!s.cells) {
    if (s.cloud)
      ctx.addIssue({ code: 'custom', path: ['cloud'], message: "needs a cells section (the cloud aggregates the cells' edge servers)" });
    return;
  }
  if (!s.cloud)
    ctx.addIssue({
      code: 'custom',
      path: ['cloud'],
      message:
        'is required with cells (the aggregator above the edge servers): { "everyRounds": H, "backhaul": { "rateBps": R, "latencyS": L } }',
    });
  if (s.topology) ctx.addIssue({ code: 'custom', path: ['topology'], message: 'cannot be declared together with cells' });
  const names = new Set<string>();
  let devices = 0;
  s.cells.forEach((c, i) => {
    if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: ['cells', i, 'name'], message: `duplicate cell name '${c.name}'` });
    names.add(c.name);
    const cell = c.cell ?? s.cell;
    const count = (c.devices ?? s.devices).count;
    devices += count;
    if (cell.minDistanceM >= cell.radiusM)
      ctx.addIssue({
        code: 'custom',
        path: ['cells', i, 'cell', 'minDistanceM'],
        message: `must be less than the cell's radiusM (${cell.radiusM})`,
      });
    if ((c.scheduler ?? s.scheduler).randomCount > count)
      ctx.addIssue({
        code: 'custom',
        path: ['cells', i, 'scheduler', 'randomCount'],
        message: `admits more devices than the cell has (devices.count = ${count})`,
      });
    const faults = c.faults ?? s.faults;
    for (const list of ['silentWindows', 'linkOutages'] as const)
      faults[list].forEach((w, j) => {
        if (w.device >= count)
          ctx.addIssue({
            code: 'custom',
            path: ['cells', i, 'faults', list, j, 'device'],
            message: `no such device in cell '${c.name}' (devices.count = ${count})`,
          });
      });
  });
  if (devices > s.data.trainSamples)
    ctx.addIssue({
      code: 'custom',
      path: ['data', 'trainSamples'],
      message: `must be at least the cells' devices (${devices}): each device needs a share`,
    });
}

/** A validated scenario with every default filled in. */
export type Scenario = z.infer<typeof scenarioSchema>;
/** A scenario as written in a file: every field optional. */
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** One problem found in a scenario: the field (dotted path) and the rule it breaks. */
export interface ScenarioProblem {
  field: string;
  rule: string;
}

/** A scenario that cannot be used; `problems` lists every problem at once. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly file: string,
    readonly problems: ScenarioProblem[],
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problems.map((p) => `${p.field || '(root)'}: ${p.rule}`).join('; ')}`, options);
  }
}

function fieldOf(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** A zod error as problems, each naming its field (dotted path); unknown keys one problem each. Shared with study files. */
export function zodProblems(error: z.ZodError): ScenarioProblem[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => ({ field: fieldOf([...issue.path, k]), rule: 'unknown field' }))
      : [{ field: fieldOf(issue.path), rule: issue.message }],
  );
}

/**
 * Validates a parsed scenario object; `file` names where it came from in errors. With `baseDir`,
 * the plug-ins' relative paths (modules, a process's cwd) are resolved against it (README "Plug-ins").
 */
export function parseScenario(input: unknown, file = '<scenario>', baseDir?: string): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (result.success) return baseDir === undefined ? result.data : withResolvedPlugins(result.data, baseDir);
  throw new ScenarioError(file, zodProblems(result.error));
}

/** The JSON in `file`; an unreadable file or bad JSON throws `fail(rule)`, the rule naming the problem. Shared with study files. */
export function readJsonFile(file: string, fail: (rule: string, cause: unknown) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw fail(`cannot read file (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, cause);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw fail(`not valid JSON (${(cause as Error).message})`, cause);
  }
}

/** Reads and validates a scenario file. */
export function loadScenario(file: string): Scenario {
  const json = readJsonFile(file, (rule, cause) => new ScenarioError(file, [{ field: '', rule }], { cause }));
  return parseScenario(json, file, dirname(file));
}

/**
 * Applies a `--set path=value` override (INTERFACE.md): the value is parsed as JSON when it can be,
 * else kept as a string. Returns a new object.
 */
export function applyOverride(input: unknown, assignment: string): unknown {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ScenarioError('--set', [{ field: assignment, rule: 'expected path=value' }]);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  const root: Record<string, unknown> = structuredClone((input ?? {}) as Record<string, unknown>);
  let node: Record<string, unknown> = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next))
      throw new ScenarioError('--set', [{ field: path.join('.'), rule: `${key} is not an object` }]);
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
  return root;
}
