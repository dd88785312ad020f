/** The default topology of MODEL.md §1 as runtime actor specs: kinds loaded by module path, so workers find them. */
import { join } from 'node:path';
import type { ActorSpec, ResourceSpec } from '../topology';
import type { BackendName } from '../../models/backend';
import type { RunPlan } from './setup';

const ACTORS_DIR = join(__dirname, '..', '..', 'actors');
const MODULES = { device: 'device', shard: 'shard', server: 'server', scheduler: 'scheduler', evaluator: 'evaluator' } as const;

/** Actor specs of a planned run: shards and evaluator shards pinned round-robin, the rest spread evenly. */
export function topologyOf(plan: RunPlan): ActorSpec[] {
  return plan.actors.map((a) => ({ id: a.id, kind: a.kind, module: join(ACTORS_DIR, MODULES[a.kind]), params: a.params, ...(a.worker !== undefined ? { placement: { worker: a.worker } } : {}) }));
}

/** The per-worker resources: frozen model, data set and shards (actors/resources.ts), on `backend` if given. */
export function resourcesOf(plan: RunPlan, backend?: BackendName): ResourceSpec[] {
  const args = backend ? { ...plan.resourceArgs, backend } : plan.resourceArgs;
  return [{ name: 'simulation', module: join(ACTORS_DIR, 'resources'), export: 'loadSimulationResources', args: [args] }];
}
