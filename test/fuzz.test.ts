/**
 * Random and mutated inputs to the loaders: scenario files, event logs and checkpoints
 * either load or fail with their documented error; nothing else is thrown, and nothing hangs.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario, ScenarioError } from '../app/scenario';
import { parseEventLog, EventLogWriter, createEventLogHeader, EventLogError } from '../runtime/eventLog';
import { readCheckpoint, RunSetupError } from '../app/sim/run';
import { toJson } from '../app/sim/serialize';

const cell50 = JSON.parse(readFileSync(join(__dirname, '..', 'scenarios', 'cell-50.json'), 'utf8'));

/** Replaces the value at a random path of `obj` by `value`. */
function mutate(obj: unknown, path: number[], value: unknown): unknown {
  if (obj === null || typeof obj !== 'object' || path.length === 0) return value;
  const keys = Object.keys(obj as object);
  if (keys.length === 0) return value;
  const key = keys[(path[0] as number) % keys.length] as string;
  const copy: Record<string, unknown> = Array.isArray(obj)
    ? ([...obj] as unknown as Record<string, unknown>)
    : { ...(obj as Record<string, unknown>) };
  copy[key] = mutate(copy[key], path.slice(1), value);
  return copy;
}

describe('loaders under random input', () => {
  it('scenario: mutated fields either validate or give a ScenarioError naming a field', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue(), (path, value) => {
        const input = mutate(cell50, path, value);
        try {
          parseScenario(input, 'fuzz.json');
        } catch (e) {
          expect(e).toBeInstanceOf(ScenarioError);
          const err = e as ScenarioError;
          expect(err.problems.length).toBeGreaterThan(0);
          expect(err.message.startsWith('fuzz.json: ')).toBe(true);
        }
      }),
      { numRuns: 500, seed: 42 },
    );
  });

  it('scenario: arbitrary JSON never crashes the validator', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseScenario(value, 'x.json');
        } catch (e) {
          expect(e).toBeInstanceOf(ScenarioError);
        }
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('event log: truncated or mutated logs give the valid prefix and an error saying where', () => {
    const writer = new EventLogWriter(createEventLogHeader({ seed: 1 }), { keepLines: true });
    writer.append(
      Array.from({ length: 20 }, (_, i) => ({
        seq: i,
        slot: i >> 2,
        t: i / 10,
        kind: 'msg' as const,
        from: 'a',
        to: 'b',
        type: 'ping',
        payload: { bits: 64, value: i },
      })),
    );
    const text = `${writer.lines().join('\n')}\n`;
    expect(parseEventLog(text).events).toHaveLength(20);
    fc.assert(
      fc.property(fc.nat({ max: Math.max(text.length - 1, 0) }), fc.string({ maxLength: 3 }), fc.boolean(), (at, insert, cut) => {
        const damaged = cut ? text.slice(0, at) : text.slice(0, at) + insert + text.slice(at + 1);
        const result = parseEventLog(damaged, 'fuzz.jsonl');
        if (result.error) {
          expect(result.error).toBeInstanceOf(EventLogError);
          expect(result.error.line).toBeGreaterThanOrEqual(1);
          expect(result.events.length).toBeLessThanOrEqual(result.error.line - 1);
        }
      }),
      { numRuns: 400, seed: 3 },
    );
  });

  it('checkpoint: corrupt or partial files give a RunSetupError naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlora-cp-'));
    mkdirSync(join(dir, 'checkpoints'));
    const good = toJson({
      format: 'airlora-checkpoint',
      version: 2,
      scenario: {},
      driver: { rounds: [], slot: 1 },
      runtime: { seq: 0 },
      w: new Float32Array([1, 2, 3]),
    });
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.boolean(), (at, cut) => {
        const text = cut ? good.slice(0, at) : good.slice(0, at) + '#' + good.slice(at + 1);
        writeFileSync(join(dir, 'checkpoints', 'checkpoint.json'), text);
        try {
          readCheckpoint(dir);
        } catch (e) {
          expect(e).toBeInstanceOf(RunSetupError);
          expect((e as Error).message).toContain('checkpoint');
        }
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
