/**
 * The simulation's charges against the scheduler's predictions over a whole run, for a
 * scenario too large for the test suite (default cell-50, 5 rounds):
 *
 *   node dist/bench/chargeCheck.js [--scenario scenarios/cell-50.json] [--rounds 5] [--workers 2]
 *
 * Prints the devices compared and the largest relative disagreement in energy and finish time
 * (app/sim/chargeCheck.ts); exits 1 if either exceeds 1e-12. Appends to bench/results/chargeCheck.txt.
 */
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../app/scenario';
import { runToFolder } from '../app/sim/run';
import { checkCharges } from '../app/sim/chargeCheck';
import type { Decided, RoundSummary } from '../actors/roundMessages';

const REPO = __dirname.endsWith(join('dist', 'bench')) ? join(__dirname, '..', '..') : join(__dirname, '..');
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
};

async function main(): Promise<number> {
  const file = opt('scenario', join(REPO, 'scenarios', 'cell-50.json'));
  const rounds = Number(opt('rounds', '5'));
  const base = loadScenario(file);
  const scenario = { ...base, training: { ...base.training, rounds } };
  const closed: { decided: Decided; summary: RoundSummary }[] = [];
  const started = Date.now();
  const result = await runToFolder(scenario, {
    outDir: mkdtempSync(join(tmpdir(), 'airlora-charges-')),
    workers: Number(opt('workers', '2')),
    onRoundClosed: (r) => closed.push(r),
  });
  const check = checkCharges(closed);
  const ok = check.checked > 0 && check.maxEnergyRelErr < 1e-12 && check.maxFinishRelErr < 1e-12 && check.strays.length === 0;
  const line = `${new Date().toISOString()} ${scenario.name} ${rounds} rounds, ${result.summary.meanAdmitted.toFixed(1)} admitted/round: ${check.checked} devices compared, max rel. error energy ${check.maxEnergyRelErr.toExponential(2)}, finish time ${check.maxFinishRelErr.toExponential(2)}, strays ${check.strays.length}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(0)} s wall, ${cpus().length}x ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]?.toFixed(1)})`;
  console.log(line);
  mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
  appendFileSync(join(REPO, 'bench', 'results', 'chargeCheck.txt'), `${line}\n`);
  return ok ? 0 : 1;
}

void main().then((code) => process.exit(code));
