/**
 * This package's folder and version, found from the nearest airlora package.json above this file
 * (source or build alike): the event log's header names the version, shipped plug-ins live under the folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let cachedPackage: { root: string; version: string } | null | undefined;
/** The nearest airlora package.json above this file, or null. */
function findPackage(): { root: string; version: string } | null {
  if (cachedPackage !== undefined) return cachedPackage;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'airlora' && pkg.version) return (cachedPackage = { root: dir, version: pkg.version });
    }
    dir = path.dirname(dir);
  }
  return (cachedPackage = null);
}

/** This package's version, from the nearest airlora package.json above this file. */
export function packageVersion(): string {
  return findPackage()?.version ?? '0.0.0';
}

/** This package's folder (where its package.json is): shipped plug-ins live under it. */
export function packageRoot(): string {
  return findPackage()?.root ?? path.join(__dirname, '..');
}
