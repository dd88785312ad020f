/**
 * `airlora replay LOG` (INTERFACE.md): without a policy, re-executes the recorded run and checks
 * every recorded hash; with one, runs the same channel (the gains recorded in the log's
 * `slot-start` messages) and the same data with another policy: a counterfactual.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_LOG_VERSION, EVENT_LOG_WRITERS, readEventLog, type EventLogHeader, type LogEvent } from '../../runtime/eventLog';
import { parseScenario, type PolicySpec, type Scenario } from '../scenario';
import { policyLabel } from '../plugins/policySpec';
import { pluginModuleDigest, type PluginKind } from '../../util/pluginModule';
import type { GainTrace } from '../../channels/trace';
import { availableBackends, BACKEND_NAMES, type BackendName } from '../../models/backend';
import { runToFolder } from './run';

export interface ReplayOptions {
  policy?: PolicySpec;
  outDir?: string;
  workers?: number;
  progress?: boolean;
}

/** A log that cannot be replayed (unreadable, corrupt, or without a scenario); exit status 2. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  readonly exitCode = 2;
}

/** The gains g_k^t the log recorded, as a trace (device k, slot t). */
export function traceFromEvents(events: readonly LogEvent[], deviceCount: number, slotCount: number, file: string): GainTrace {
  const gains = Array.from({ length: deviceCount }, () => new Array<number>(slotCount).fill(Number.NaN));
  for (const e of events) {
    if (e.type !== 'slot-start' || e.from !== 'driver') continue;
    const v = e.payload.value as { slot?: number; gain?: number; closing?: boolean } | null;
    const k = Number(e.to.slice(1));
    if (!v || v.closing || typeof v.slot !== 'number' || typeof v.gain !== 'number' || !(v.slot < slotCount) || !(k < deviceCount))
      continue;
    (gains[k] as number[])[v.slot] = v.gain;
  }
  gains.forEach((row, k) =>
    row.forEach((g, t) => {
      if (Number.isNaN(g)) throw new ReplayError(`${file}: no recorded gain for device d${k} in slot ${t} (the log ends early?)`);
    }),
  );
  return { file, deviceCount, slotCount, gains };
}

export async function replayLog(file: string, options: ReplayOptions = {}): Promise<{ ok: boolean; message: string; outDir: string }> {
  let contents;
  try {
    contents = readEventLog(file);
  } catch (cause) {
    throw new ReplayError(`${file}: cannot read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
  if (contents.error) throw new ReplayError(`cannot replay a damaged log: ${contents.error.message}`);
  if (!contents.header?.scenario) throw new ReplayError(`${file}: the header holds no scenario`);
  let scenario: Scenario = parseScenario(withEarlierDefaults(contents.header.scenario), `${file} (header scenario)`);
  const outDir = options.outDir ?? mkdtempSync(join(tmpdir(), 'airlora-replay-'));
  if (scenario.topology && options.policy) throw new ReplayError(`${file}: a declared topology has no scheduling policy to swap`);
  if (scenario.topology && scenario.topology.driver !== 'simulation') {
    const { runTopologyToFolder } = await import('./customTopology');
    await runTopologyToFolder(scenario, { outDir, workers: options.workers, recordedHeader: contents.header });
    return compareLogs(contents.events, contents.hash, outDir);
  }
  if (options.policy && scenario.cells)
    throw new ReplayError(`${file}: a counterfactual with another policy is for single-cell runs; this log is of a multi-cell system`);
  if (options.policy) {
    const trace = traceFromEvents(contents.events, scenario.devices.count, scenario.training.rounds, file);
    scenario = { ...scenario, scheduler: { ...scenario.scheduler, policy: options.policy } };
    const result = await runToFolder(scenario, { outDir, trace, progress: options.progress, workers: options.workers });
    return {
      ok: true,
      outDir,
      message: `counterfactual with policy ${policyLabel(options.policy)} on the recorded channel: final accuracy ${(100 * result.summary.finalAccuracy).toFixed(1)}%; written to ${outDir}`,
    };
  }
  checkPluginDigest('policy', contents.header['policyDigest'], file);
  checkPluginDigest('strategy', contents.header['strategyDigest'], file);
  checkPluginDigest('fading', contents.header['fadingDigest'], file);
  if (contents.header['trace'])
    throw new ReplayError(`${file}: this log is itself a counterfactual on a recorded trace; replay the original log instead`);
  checkReplayableVersion(contents.header, file);
  const backend = recordedBackend(contents.header.backend, file);
  if (scenario.cells) {
    const { runCellsToFolder } = await import('./cells');
    await runCellsToFolder(scenario, { outDir, workers: options.workers, recordedHeader: contents.header, backend });
    return compareLogs(contents.events, contents.hash, outDir, backend);
  }
  await runToFolder(scenario, { outDir, progress: options.progress, workers: options.workers, recordedHeader: contents.header, backend });
  return compareLogs(contents.events, contents.hash, outDir, backend);
}

/**
 * A built-in simulation's log of an older version ran another message flow (version 3: the round in
 * three passes owned by the edge server), so its events cannot be produced again here: exit 2,
 * naming the version and the release that replays it. Declared topologies replay in any version.
 */
function checkReplayableVersion(header: EventLogHeader, file: string): void {
  if (header.version === EVENT_LOG_VERSION) return;
  const writer = EVENT_LOG_WRITERS[header.version];
  throw new ReplayError(
    `${file}: written by airlora ${String(header.packageVersion)} in event log version ${header.version}; this release replays version ${EVENT_LOG_VERSION} logs of the built-in simulation. ` +
      `Replay it with the release that wrote it${writer ? ` (${writer}: git checkout ${writer.replace('commit ', '')} && npm ci && npm run build && node bin/airlora.js replay ${file})` : ''}`,
  );
}

/** A plug-in module must be the one recorded: a changed module could not give the same events (README "Plug-ins"). */
function checkPluginDigest(kind: PluginKind, recorded: unknown, file: string): void {
  if (recorded === undefined) return;
  const r = recorded as { module?: unknown; sha256?: unknown };
  if (typeof r.module !== 'string' || typeof r.sha256 !== 'string')
    throw new ReplayError(`${file}: the header's ${kind}Digest is malformed`);
  const now = pluginModuleDigest(kind, r.module);
  if (now !== r.sha256)
    throw new ReplayError(
      `${file}: the ${kind} module ${r.module} changed since the run (recorded sha256 ${r.sha256.slice(0, 16)}…, now ${now.slice(0, 16)}…); restore it to replay, or replay with --policy for a counterfactual`,
    );
}

/** The backend a log was recorded on, if it loads here: another one rounds differently, so its events could not match. */
function recordedBackend(recorded: unknown, file: string): BackendName {
  const known = BACKEND_NAMES;
  if (!known.includes(recorded as BackendName))
    throw new ReplayError(`${file}: the header's backend ${JSON.stringify(recorded)} is none of ${known.join(', ')}`);
  const here = availableBackends();
  if (!here.includes(recorded as BackendName))
    throw new ReplayError(
      `${file}: recorded on the ${String(recorded)} backend, which does not load here (available: ${here.join(', ')}); a replay on another backend cannot match bit for bit`,
    );
  return recorded as BackendName;
}

/**
 * A recorded scenario with the settings that were fixed behaviour before they became fields: a log
 * written before `runtime.batchDevices` existed ran one encoder pass per device (batchDevices 1).
 */
function withEarlierDefaults(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object') return raw;
  const runtime = (raw as { runtime?: Record<string, unknown> }).runtime;
  if (runtime && typeof runtime === 'object' && !('batchDevices' in runtime)) return { ...raw, runtime: { ...runtime, batchDevices: 1 } };
  return raw;
}

/**
 * Why a log of `backend` may not replay on another machine: onnxruntime picks its kernels by the
 * CPU it runs on (its vector instructions), and they round differently; TensorFlow.js's wasm
 * backend computes the same on every machine.
 */
function machineHint(backend: BackendName | undefined): string {
  return backend === 'onnxruntime'
    ? '; a log written on onnxruntime replays hash for hash only on a CPU with the same vector instructions (onnxruntime picks its kernels by CPU, e.g. AVX2 or AVX-512), so a replay on another machine can differ; runs on the wasm backend give the same log on every machine'
    : '';
}

/** Compares the recorded events with the replay's, hash by hash. */
function compareLogs(
  recorded: readonly LogEvent[],
  recordedHash: string | undefined,
  outDir: string,
  backend?: BackendName,
): { ok: boolean; message: string; outDir: string } {
  const again = readEventLog(join(outDir, 'events.jsonl'));
  const n = Math.min(recorded.length, again.events.length);
  for (let i = 0; i < n; i++) {
    const a = recorded[i] as LogEvent;
    const b = again.events[i] as LogEvent;
    if (a.hash !== b.hash)
      return {
        ok: false,
        outDir,
        message: `mismatch at line ${i + 2} (seq ${a.seq}, slot ${a.slot}, ${a.from} → ${a.to} ${a.type}): recorded ${a.hash.slice(0, 16)}…, replayed ${b.hash.slice(0, 16)}… (${b.from} → ${b.to} ${b.type})${machineHint(backend)}`,
      };
  }
  if (recorded.length !== again.events.length)
    return { ok: false, outDir, message: `the recorded log has ${recorded.length} events, the replay ${again.events.length}` };
  return { ok: true, outDir, message: `replayed ${recorded.length} events: every hash matches (log hash ${recordedHash?.slice(0, 16)}…)` };
}
