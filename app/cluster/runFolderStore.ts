/**
 * A run folder through the JetStream object store, for clusters without a shared file system:
 * each file an object named `<prefix><relative path>` (the store chunks it under the server's
 * max_payload and checks its digest). The prefix names the worker and the delivery, so a second
 * delivery of a run never overwrites the objects of a first one still being read.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { ObjectStore } from '@nats-io/obj';

/** Every file under `dir`, as paths relative to it (sorted, `/`-separated). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** Puts every file of the run folder `dir` under `prefix`; returns their relative paths. */
export async function uploadRunFolder(store: ObjectStore, dir: string, prefix: string): Promise<string[]> {
  const files = filesUnder(dir);
  for (const f of files) await store.putBlob({ name: `${prefix}${f}` }, readFileSync(join(dir, f)));
  return files;
}

/**
 * Gets `files` under `prefix` into `dir`: written into a fresh sibling folder first, then moved in
 * place of `dir`, so a study never sees half a run (whatever was in `dir` is replaced).
 */
export async function downloadRunFolder(store: ObjectStore, prefix: string, files: readonly string[], dir: string): Promise<void> {
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  for (const f of files) {
    const data = await store.getBlob(`${prefix}${f}`);
    if (data === null) throw new Error(`object ${prefix}${f} is missing from the study's bucket`);
    const target = join(partial, f);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(partial, dir);
}

/** Deletes the objects `files` under `prefix` (collected: the study folder holds them now). */
export async function deleteRunObjects(store: ObjectStore, prefix: string, files: readonly string[]): Promise<void> {
  for (const f of files) await store.delete(`${prefix}${f}`);
}
