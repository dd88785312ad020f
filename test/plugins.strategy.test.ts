/**
 * Aggregation strategies from modules (README "Plug-ins"): FedAvg re-implemented as a module logs
 * the built-in fedavg's events; the shipped FFA-LoRA example keeps every A factor at the global one
 * while B moves, and its digest is in the header.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, type Scenario, type StrategySpec } from '../app/scenario';
import { runToFolder } from '../app/sim/run';

const ROOT = join(__dirname, '..');
const quick = loadScenario(join(ROOT, 'scenarios', 'quick.json'));
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));
const scenario = (aggregation: StrategySpec): Scenario => ({ ...quick, training: { ...quick.training, rounds: 2, aggregation } });
const lines = (dir: string) => readFileSync(join(dir, 'events.jsonl'), 'utf8').trimEnd().split('\n');
const withoutHash = (l: string | undefined) => l?.replace(/,"hash":"[0-9a-f]+"}$/, '');

/** Per slot, the digests of the LoRA factors the server sends out (`global-lora`), A and B apart. */
function sentFactors(events: readonly string[]): Map<number, { A: string; B: string }> {
  const out = new Map<number, { A: string; B: string }>();
  for (const l of events.slice(1)) {
    const e = JSON.parse(l) as {
      slot: number;
      type: string;
      from: string;
      payload: { value: { lora?: Record<string, { xxh64: string }> } };
    };
    if (e.type !== 'global-lora' || e.from !== 'server' || !e.payload.value.lora) continue;
    const entries = Object.entries(e.payload.value.lora).sort(([a], [b]) => (a < b ? -1 : 1));
    out.set(e.slot, {
      A: entries
        .filter(([k]) => k.endsWith('/A'))
        .map(([, v]) => v.xxh64)
        .join(','),
      B: entries
        .filter(([k]) => k.endsWith('/B'))
        .map(([, v]) => v.xxh64)
        .join(','),
    });
  }
  return out;
}

describe('aggregation strategies from modules', () => {
  it('FedAvg as a module: the built-in fedavg events, byte for byte but the running hash', async () => {
    const builtin = fresh('fedavg');
    await runToFolder(scenario('fedavg'), { outDir: builtin });
    const module = join(ROOT, 'test', 'fixtures', 'fedAvgStrategy.js');
    const plugin = fresh('fedavg-module');
    await runToFolder(scenario({ module }), { outDir: plugin });
    const a = lines(builtin);
    const b = lines(plugin);
    expect(b.length).toBe(a.length);
    const differing = b.findIndex((l, i) => i > 0 && withoutHash(l) !== withoutHash(a[i]));
    expect(differing).toBe(-1);
    expect(JSON.parse(b[0]!).strategyDigest).toEqual({ module, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The rounds aggregated something: B moved between the first and the last round.
    const sent = sentFactors(b);
    expect(sent.get(0)!.B).not.toBe(sent.get(1)!.B);
  }, 300_000);

  it('airlora:ffa-lora (Sun et al., ICLR 2024) keeps A at the global one, round after round, while B moves', async () => {
    const out = fresh('ffa');
    const r = await runToFolder(scenario({ module: 'airlora:ffa-lora' }), { outDir: out });
    expect(r.summary.rounds).toBe(2);
    const sent = sentFactors(lines(out));
    expect([...sent.keys()]).toEqual([0, 1]);
    expect(new Set([...sent.values()].map((s) => s.A)).size).toBe(1);
    expect(new Set([...sent.values()].map((s) => s.B)).size).toBe(2);
    expect(JSON.parse(lines(out)[0]!).strategyDigest.module).toBe('airlora:ffa-lora');
  }, 300_000);
});
