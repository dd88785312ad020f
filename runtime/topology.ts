/**
 * Topology: which actors exist, of which kind, who supervises them and where they run
 * (docs/architecture.md). Kinds are found by module path (so that worker threads can load
 * them, a user's own kinds too) or, for the in-process executor, in a registry.
 */
import * as path from 'node:path';
import type { ActorKind } from './actor';

/** Ids the runtime keeps for itself: never actor ids. */
export const RESERVED_IDS = ['driver', 'runtime', 'clock', 'log'] as const;

/** One actor of a topology. */
export interface ActorSpec<P = unknown> {
  /** Unique id; actors are addressed by id, never by worker. */
  readonly id: string;
  /** The kind's registered name (`ActorKind.kind`). */
  readonly kind: string;
  /**
   * Module that exports the kind: an absolute path, best without extension (`path.join(__dirname,
   * 'device')`), so that the same path loads the `.ts` source under jest/tsx and the `.js` build.
   * Required with worker threads unless the kind was registered with a module.
   */
  readonly module?: string;
  readonly params?: P;
  /** Co-location: actors of one `group` share a worker; `worker` pins (modulo the worker count). */
  readonly placement?: { readonly group?: string; readonly worker?: number };
  /** Who receives this actor's `failure` messages: an actor id, `driver`, or `runtime` (the default: restart and go on). */
  readonly supervisor?: string;
  /** Receives the slot clock; overrides `ActorKind.ticks`. */
  readonly tick?: boolean;
  /** Declared peers (documentation and placement hints; not enforced). */
  readonly talksTo?: readonly string[];
}

/** A per-worker resource: `module`'s export `export` (default: the module's default export), called with `args` if it is a function (may be async). */
export interface ResourceSpec {
  readonly name: string;
  readonly module: string;
  readonly export?: string;
  readonly args?: readonly unknown[];
}

/** A topology that cannot run; `field` names the entry and field, e.g. `topology[3].supervisor`. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';
  constructor(
    readonly field: string,
    readonly rule: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${rule}`, options);
  }
}

const registry = new Map<string, { kind: ActorKind; module?: string }>();

/**
 * Registers an actor kind under its name. With `module` (the path of a module exporting it),
 * the kind also runs on worker threads; without, only in the in-process executor (`workers: 0`).
 */
export function registerActorKind<S, P>(kind: ActorKind<S, P>, module?: string): void {
  if (!kind || typeof kind.kind !== 'string' || typeof kind.transition !== 'function' || typeof kind.initialState !== 'function')
    throw new TopologyError('kind', 'an actor kind needs a string `kind`, `initialState` and `transition`');
  registry.set(kind.kind, { kind: kind as unknown as ActorKind, module: module === undefined ? undefined : normalizeModulePath(module) });
}

/** The registered kind named `name`, if any. */
export function registeredActorKind(name: string): ActorKind | undefined {
  return registry.get(name)?.kind;
}

/** Drops the extension of a `.ts`/`.js` module path so that it resolves to either. */
export function normalizeModulePath(module: string): string {
  const abs = path.isAbsolute(module) ? module : path.resolve(module);
  return abs.replace(/\.(c|m)?(t|j)s$/, '');
}

function isKind(value: unknown, name: string): value is ActorKind {
  const v = value as Partial<ActorKind> | null;
  return !!v && typeof v === 'object' && v.kind === name && typeof v.transition === 'function' && typeof v.initialState === 'function';
}

/** Loads `module` and finds the exported actor kind named `name`. */
export function loadActorKind(module: string, name: string): ActorKind {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module path comes from the scenario: known only at run time
  const mod = require(module) as Record<string, unknown>;
  const candidates = [mod[name], mod.default, ...Object.values(mod)];
  for (const c of candidates) if (isKind(c, name)) return c;
  throw new TopologyError('module', `${module} exports no actor kind named '${name}'`);
}

/** The kind an actor runs: from its module, else from the registry. */
export function resolveActorKind(spec: ActorSpec): ActorKind {
  if (spec.module) return loadActorKind(spec.module, spec.kind);
  const entry = registry.get(spec.kind);
  if (entry?.module) return loadActorKind(entry.module, spec.kind);
  if (entry) return entry.kind;
  throw new TopologyError(`actor '${spec.id}'.kind`, `no module given and no kind '${spec.kind}' registered in this thread`);
}

/** Loads per-worker resources, in order. */
export async function loadResources(specs: readonly ResourceSpec[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const r of specs) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module path comes from the scenario: known only at run time
    const mod = require(r.module) as Record<string, unknown>;
    const value = r.export ? mod[r.export] : (mod.default ?? mod);
    if (r.export && value === undefined) throw new TopologyError(`resources.${r.name}.export`, `${r.module} has no export '${r.export}'`);
    out[r.name] = typeof value === 'function' ? await (value as (...a: unknown[]) => unknown)(...(r.args ?? [])) : value;
  }
  return out;
}

/**
 * Checks a topology and fills in module paths from the registry. `needModules`: every kind must
 * be loadable by module path (worker threads). Throws TopologyError naming the field.
 */
export function validateTopology(specs: readonly ActorSpec[], needModules: boolean): ActorSpec[] {
  if (!Array.isArray(specs) || specs.length === 0) throw new TopologyError('topology', 'must list at least one actor');
  const ids = new Set<string>();
  const out: ActorSpec[] = [];
  specs.forEach((s, i) => {
    const at = `topology[${i}]`;
    if (!s || typeof s !== 'object') throw new TopologyError(at, 'must be an object');
    if (typeof s.id !== 'string' || s.id.length === 0) throw new TopologyError(`${at}.id`, 'must be a non-empty string');
    if ((RESERVED_IDS as readonly string[]).includes(s.id))
      throw new TopologyError(`${at}.id`, `'${s.id}' is reserved (${RESERVED_IDS.join(', ')})`);
    if (ids.has(s.id)) throw new TopologyError(`${at}.id`, `duplicate id '${s.id}'`);
    ids.add(s.id);
    if (typeof s.kind !== 'string' || s.kind.length === 0) throw new TopologyError(`${at}.kind`, 'must be a non-empty string');
    let module = s.module === undefined ? undefined : normalizeModulePath(s.module);
    if (module === undefined) module = registry.get(s.kind)?.module;
    if (module !== undefined) {
      try {
        require.resolve(module);
      } catch (cause) {
        throw new TopologyError(`${at}.module`, `cannot resolve '${module}'`, { cause });
      }
    } else if (needModules)
      throw new TopologyError(`${at}.module`, `required with worker threads (or register kind '${s.kind}' with a module path)`);
    else if (!registry.has(s.kind)) throw new TopologyError(`${at}.kind`, `no module given and no kind '${s.kind}' registered`);
    const w = s.placement?.worker;
    if (w !== undefined && !(Number.isInteger(w) && w >= 0)) throw new TopologyError(`${at}.placement.worker`, 'must be an integer >= 0');
    out.push(module === undefined ? { ...s } : { ...s, module });
  });
  specs.forEach((s, i) => {
    if (s.supervisor !== undefined && s.supervisor !== 'runtime' && s.supervisor !== 'driver' && !ids.has(s.supervisor))
      throw new TopologyError(`topology[${i}].supervisor`, `no actor '${s.supervisor}'`);
  });
  return out;
}

/** Where actors run: 'spread' (the default), or a function giving each spec's worker index. */
export type PlacementPolicy = 'spread' | ((specs: readonly ActorSpec[], workers: number) => readonly number[]);

/**
 * Places actors on `workers` hosts. 'spread': pinned actors (`placement.worker`, modulo the count)
 * first, then each group (in order of first appearance) and each ungrouped actor to the least
 * loaded host, lowest index on ties. The event log never depends on placement.
 */
export function placeActors(specs: readonly ActorSpec[], workers: number, policy: PlacementPolicy = 'spread'): number[] {
  const n = Math.max(1, workers);
  if (typeof policy === 'function') {
    const out = [...policy(specs, n)];
    if (out.length !== specs.length || out.some((w) => !Number.isInteger(w) || w < 0 || w >= n))
      throw new TopologyError('placement', `the policy must give one worker index in [0, ${n}) per actor`);
    return out;
  }
  const load = new Array<number>(n).fill(0);
  const out = new Array<number>(specs.length).fill(-1);
  const groups = new Map<string, number[]>();
  const units: number[][] = [];
  specs.forEach((s, i) => {
    const w = s.placement?.worker;
    if (w !== undefined) {
      out[i] = w % n;
      load[w % n]! += 1;
      return;
    }
    const g = s.placement?.group;
    if (g === undefined) units.push([i]);
    else if (groups.has(g)) groups.get(g)!.push(i);
    else {
      const members = [i];
      groups.set(g, members);
      units.push(members);
    }
  });
  for (const unit of units) {
    let best = 0;
    for (let h = 1; h < n; h++) if (load[h]! < load[best]!) best = h;
    for (const i of unit) out[i] = best;
    load[best]! += unit.length;
  }
  return out;
}

/** A small builder for topologies composed in code (INTERFACE.md "Library"). */
export interface TopologyBuilder {
  add<P>(spec: ActorSpec<P>): TopologyBuilder;
  /** `count` actors from a factory of the index. */
  addMany<P>(count: number, make: (i: number) => ActorSpec<P>): TopologyBuilder;
  build(): ActorSpec[];
}

/** Starts a topology. */
export function createTopology(): TopologyBuilder {
  const specs: ActorSpec[] = [];
  const b: TopologyBuilder = {
    add(spec) {
      specs.push(spec);
      return b;
    },
    addMany(count, make) {
      for (let i = 0; i < count; i++) specs.push(make(i));
      return b;
    },
    build() {
      return specs.slice();
    },
  };
  return b;
}
