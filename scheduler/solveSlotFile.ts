/**
 * `airlora solve-slot INSTANCE` (INTERFACE.md): reads a per-slot instance, prints the Lyapunov
 * decision as JSON. Returns the exit status and the text instead of printing, so the CLI owns I/O.
 */
import { readFileSync } from 'node:fs';
import { solveSlot } from './decide';
import { parseSlotInstance, SlotInstanceError } from './instance';

/** Solves the instance in file `path` (MODEL.md §6): exit 0 and the decision as JSON, or exit 2 and a message naming the file and field. */
export function solveSlotFile(path: string): { exitCode: number; output: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    return { exitCode: 2, output: `${path}: cannot read file (${(cause as NodeJS.ErrnoException).code ?? String(cause)})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    return { exitCode: 2, output: `${path}: (root): not valid JSON (${(cause as Error).message})` };
  }
  try {
    const decision = solveSlot(parseSlotInstance(json, path));
    return { exitCode: 0, output: JSON.stringify(decision, null, 2) };
  } catch (error) {
    if (error instanceof SlotInstanceError) return { exitCode: 2, output: error.message };
    throw error;
  }
}
