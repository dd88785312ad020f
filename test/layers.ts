/**
 * The layers of the code (README "How it is built") and the check that keeps them true: each folder
 * imports only from the folders below it. Imports are read with the TypeScript parser (import,
 * export … from, require, import()), relative ones only; packages from npm are not layers.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import * as ts from 'typescript';

/** Each layer and the folders it may import from (itself always). Folders not listed here are top level (tests, benches, examples). */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  /** Leaf helpers: the random streams, plug-in loading, the package's folder. */
  util: [],
  /** The actor system: actors, hosts, transports, the event log. Knows no simulation. */
  runtime: ['util'],
  /** The wireless medium (MODEL.md §3). */
  channels: ['util'],
  /** The per-slot problem and policies (MODEL.md §4–6): costs are written with the channel's formulas. */
  scheduler: ['channels', 'util'],
  /** The model, its data and its training (tfjs, ONNX Runtime). */
  models: ['util'],
  /** The simulation's actor kinds, on the actor system. */
  actors: ['runtime', 'channels', 'scheduler', 'models', 'util'],
  /** The application: scenario, command line, driver, report, studies, clusters, plug-ins. */
  app: ['actors', 'runtime', 'channels', 'scheduler', 'models', 'util'],
};

/** A folder's layer: its first path segment when it names one. */
function layerOf(file: string): string | undefined {
  const top = file.split('/')[0]!;
  return top in LAYERS ? top : undefined;
}

function sourcesUnder(root: string, dir: string): string[] {
  const full = join(root, dir);
  if (!statSync(full, { throwIfNoEntry: false })?.isDirectory()) return [];
  return readdirSync(full).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourcesUnder(root, path);
    return /\.(ts|js|mjs|cjs)$/.test(name) ? [path] : [];
  });
}

/** Every import from a layer to a layer it may not use, as `file → target (import 'spec')`, under `root`. */
export function layerViolations(root: string): string[] {
  const found: string[] = [];
  for (const file of Object.keys(LAYERS).flatMap((layer) => sourcesUnder(root, layer))) {
    const from = layerOf(file.split(sep).join('/'))!;
    const allowed = new Set([from, ...LAYERS[from]!]);
    const text = readFileSync(join(root, file), 'utf8');
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!spec.startsWith('.')) continue;
      const target = relative(root, join(root, dirname(file), spec))
        .split(sep)
        .join('/');
      const to = layerOf(target) ?? target.split('/')[0]!;
      if (!allowed.has(to))
        found.push(`${file.split(sep).join('/')} → ${target} (import '${spec}'): ${from}/ may import only ${[...allowed].join(', ')}`);
    }
  }
  return found;
}
