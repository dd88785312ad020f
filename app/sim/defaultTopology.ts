/**
 * The default topology of MODEL.md §1 as runtime actor specs (kinds loaded by module path, so
 * workers find them), and as the scenario file's own `topology` declaration (`airlora topology`).
 */
import { join } from 'node:path';
import { canonicalJson } from '../../runtime/canonical';
import type { Scenario } from '../scenario';
import type { ActorSpec, ResourceSpec } from '../../runtime/topology';
import type { BackendName } from '../../models/backend';
import type { RunPlan } from './setup';

const ACTORS_DIR = join(__dirname, '..', '..', 'actors');
const MODULES = {
  device: 'device',
  shard: 'shard',
  server: 'server',
  scheduler: 'scheduler',
  evaluator: 'evaluator',
  cloud: 'cloud',
} as const;

/** Actor specs of a planned run: shards and evaluator shards pinned round-robin, the rest spread evenly. */
export function topologyOf(plan: Pick<RunPlan, 'actors'>): ActorSpec[] {
  return plan.actors.map((a) => ({
    id: a.id,
    kind: a.kind,
    module: join(ACTORS_DIR, MODULES[a.kind]),
    params: a.params,
    ...(a.worker !== undefined ? { placement: { worker: a.worker } } : {}),
  }));
}

/** The per-worker resources: frozen model, data set and shards (actors/resources.ts), on `backend` if given. */
export function resourcesOf(plan: RunPlan, backend?: BackendName): ResourceSpec[] {
  const args = backend ? { ...plan.resourceArgs, backend } : plan.resourceArgs;
  return [{ name: 'simulation', module: join(ACTORS_DIR, 'resources'), export: 'loadSimulationResources', args: [args] }];
}

/** One entry of a scenario's `topology.actors` (app/scenario.ts). */
export type DeclaredActor = NonNullable<Scenario['topology']>['actors'][number];

const SHIPPED_PREFIX = 'airlora:';

/**
 * The actors a planned run runs, in the scenario file's `topology` format: one entry per device
 * (their params differ), the shards and the evaluator shards as pairs grouped per worker slot, the
 * server and the scheduler; `talksTo` lists whom each sends to. Running the scenario with this
 * topology (driver 'simulation') gives the same event log as running it without.
 */
export function declaredTopologyOf(plan: RunPlan): { driver: 'simulation'; actors: DeclaredActor[] } {
  const shards = plan.actors.filter((a) => a.kind === 'shard').map((a) => a.id);
  const evaluators = plan.actors.filter((a) => a.kind === 'evaluator').map((a) => a.id);
  const devices = plan.actors.filter((a) => a.kind === 'device').map((a) => a.id);
  const talksTo: Record<ActorPlanKind, string[]> = {
    device: [plan.ids.scheduler, plan.ids.server, ...shards, 'driver'],
    shard: [...devices, plan.ids.server],
    server: [...devices, ...shards, ...evaluators, 'driver'],
    scheduler: ['driver'],
    evaluator: ['driver'],
    cloud: [],
  };
  const actors = plan.actors.map((a): DeclaredActor => ({
    id: a.id,
    kind: a.kind,
    module: `${SHIPPED_PREFIX}${MODULES[a.kind]}`,
    count: 1,
    params: a.params,
    ...(a.worker !== undefined ? { group: `worker-slot-${a.worker}` } : {}),
    talksTo: talksTo[a.kind].filter((id) => id !== a.id),
  }));
  return { driver: 'simulation', actors };
}

type ActorPlanKind = RunPlan['actors'][number]['kind'];

/** Whether declared actor specs are the planned ones (ids, kinds, modules and params; placement aside). */
export function samePlannedActors(declared: readonly ActorSpec[], planned: readonly ActorSpec[]): boolean {
  const key = (specs: readonly ActorSpec[]) => canonicalJson(specs.map((s) => [s.id, s.kind, s.module ?? null, s.params ?? null]));
  return key(declared) === key(planned);
}
