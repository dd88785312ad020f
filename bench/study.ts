/**
 * The same study run with `--parallel 1` (one run at a time, 2 workers each on 2 cores) and
 * `--parallel 2` (two runs at once, 1 worker each), in turn, each in a fresh folder: the study's
 * wall time, and the runs' logHashes (which must not depend on how the study was run).
 *   node dist/bench/study.js [STUDY.json] [repeat]
 * Default study: quick.json, 3 rounds, seeds 1..4 (4 runs). Writes bench/results/study-parallel.txt.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median } from './median';

/** The repository: two levels above the build (dist/bench), one above the source (through tsx). */
const ROOT = resolve(__dirname, __filename.endsWith('.ts') ? '..' : '../..');
const BIN = join(ROOT, 'bin', 'airlora.js');

function defaultStudy(dir: string): string {
  const file = join(dir, 'bench-study.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'bench-study',
      scenario: join(ROOT, 'scenarios', 'quick.json'),
      set: { 'training.rounds': 3 },
      seeds: { count: 4 },
    }),
  );
  return file;
}

/** The logHash column of a study's runs.csv, by run id. */
function hashes(out: string): string[] {
  const [header, ...rows] = readFileSync(join(out, 'runs.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const at = (header as string[]).indexOf('logHash');
  return rows.map((r) => `${r[0]} ${r[at]}`);
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'airlora-bench-study-'));
  const study = process.argv[2] ? resolve(process.argv[2]) : defaultStudy(dir);
  const repeat = Number(process.argv[3] ?? 2);
  const lines: string[] = [];
  const say = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  const cpu = cpus();
  say(`bench/study.ts, ${new Date().toISOString()}`);
  say(
    `machine: ${cpu[0]?.model ?? '?'} x ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  say('note: the machine was shared with other engineers; the two settings alternate so that each pair ran under about the same load.');
  say(`study: ${process.argv[2] || 'quick.json, 3 rounds, seeds 1..4 (4 runs)'}`);
  const wall: Record<string, number[]> = { '1': [], '2': [] };
  let reference: string[] | undefined;
  for (let i = 0; i < repeat; i++)
    for (const parallel of ['1', '2']) {
      const out = join(dir, `p${parallel}-${i}`);
      mkdirSync(out, { recursive: true });
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [BIN, 'study', study, '--out', out, '--parallel', parallel, '--quiet'], { encoding: 'utf8' });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`study --parallel ${parallel} failed (${r.status}): ${r.stderr}`);
      const h = hashes(out);
      reference ??= h;
      const same = JSON.stringify(h) === JSON.stringify(reference);
      wall[parallel]!.push(s);
      say(
        `repeat ${i + 1}: --parallel ${parallel} (${parallel === '1' ? '2 workers' : '1 worker'} per run): ${s.toFixed(1)} s wall; logHashes ${same ? 'equal to the first study' : 'DIFFER'}; load ${loadavg()[0]?.toFixed(2)}`,
      );
      if (!same) process.exitCode = 1;
    }
  const m1 = median(wall['1']!);
  const m2 = median(wall['2']!);
  say(
    `median wall: --parallel 1 ${m1.toFixed(1)} s, --parallel 2 ${m2.toFixed(1)} s: ${(m1 / m2).toFixed(2)}x; pairs ${wall['1']!.map((w, i) => (w / wall['2']![i]!).toFixed(2)).join(', ')}`,
  );
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'study-parallel.txt'), `${lines.join('\n')}\n`);
}

main();
