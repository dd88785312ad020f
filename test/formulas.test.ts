/**
 * One home per formula: the channel, latency and energy formulas of MODEL.md §3–4 are
 * written in channels/ and scheduler/ only (README "Where each formula lives"); the actors, the
 * driver and the runtime call them. A scan of the other folders' sources for the formulas' shapes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
/** Folders that must call the formulas, never write them. */
const CALLERS = ['actors', 'runtime', 'app', 'index.ts'];

/** Shapes of the formulas of MODEL.md §3–4 (and §6's queue), as they would be written by hand. */
const SHAPES: Array<[string, RegExp]> = [
  ['Shannon rate (log2(1 + SNR))', /Math\.(log2|log1p)\(|Math\.LN2/],
  ['path loss (128.1 + 37.6 log10 d)', /128\.1|37\.6/],
  ['dB conversion (10^(x/10))', /Math\.pow\(\s*10\s*,|10\s*\*\*\s*\(/],
  ['airtime (bits / rate)', /bits\w*\s*\/\s*[\w.]*rate/i],
  ['transmit energy (p · airtime)', /powerW\s*\*|\*\s*[\w.]*powerW\b/],
  ['compute energy (κ (F/c) f²)', /kappa\s*\*|cpuHz\s*\*\s*[\w.]*cpuHz/],
  ['compute time (F / (f c) or F n / F_s)', /\/\s*\(?[\w.]*(cpuHz|serverFlops)\b(?!PerIteration)/],
  ['energy queue (max(Q + E − Ē, 0))', /Math\.max\(\s*[\w.]+\s*\+\s*[\w.]+\s*-\s*[\w.]+\s*,\s*0\s*\)/],
];

function sources(path: string): string[] {
  const full = join(ROOT, path);
  if (statSync(full).isFile()) return [full];
  return readdirSync(full)
    .flatMap((name) => sources(join(path, name)))
    .filter((f) => f.endsWith('.ts'));
}

describe('formulas of MODEL.md §3–4 live in channels/ and scheduler/', () => {
  it('no caller writes one by hand', () => {
    const found: string[] = [];
    for (const file of CALLERS.flatMap(sources)) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$|^\s*\*.*$|^\s*\/\*\*.*$/, '');
          for (const [name, shape] of SHAPES) if (shape.test(code)) found.push(`${relative(ROOT, file)}:${i + 1}: ${name}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });

  it('the scan finds a formula written by hand (the shapes are not vacuous)', () => {
    const written = [
      'const upS = activationsBits / uplinkRateBps;',
      'energyJ += p.powerW * upS;',
      'const e = kappa * cycles * f * f;',
      'q = Math.max(q + e - budget, 0);',
      'const r = w * Math.log2(1 + snr);',
    ];
    for (const line of written) expect(SHAPES.some(([, shape]) => shape.test(line))).toBe(true);
  });
});
