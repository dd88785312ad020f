import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ReportError, writeReport } from '../app/report';
import { bandwidthCells, deviceEnergies, roundPoints, runLabels } from '../app/report/data';
import { compactSvg, prefixSvgIds } from '../app/report/render';
import { syntheticRun } from './reportSynthetic';

const PLOTS = ['accuracy-rounds', 'accuracy-time', 'admitted', 'queues', 'energy', 'bandwidth', 'loss', 'latency', 'bits'];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'airlora-report-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const count = (text: string, re: RegExp): number => (text.match(re) ?? []).length;

/** Tags open and close in order (a cheap well-formedness check for SVG/XML). */
function tagsBalanced(xml: string): boolean {
  const stack: string[] = [];
  const body = xml.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else stack.push(name as string);
  }
  return stack.length === 0;
}

/** Anything that would make the page fetch from the network. */
function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (const re of [
    /<script\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?\/\//gi,
    /<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?\/\//gi,
    /<(?:img|iframe|image|use)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//gi,
    /@import/gi,
    /url\(\s*["']?\s*(?:https?:)?\/\//gi,
  ]) {
    found.push(...(html.match(re) ?? []));
  }
  return found;
}

describe('writeReport', () => {
  it('writes a self-contained report with one captioned SVG per plot for one run', async () => {
    // Prepare
    const run = syntheticRun({ policy: 'lyapunov', seed: 42, devices: 12, rounds: 25 });

    // Execute
    const out = await writeReport(dir, [run]);

    // Assert
    expect(out).toEqual({ html: path.join(dir, 'report.html'), figure: path.join(dir, 'figure.svg') });
    const html = await readFile(out.html, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(count(html, /<svg\b/g)).toBe(PLOTS.length);
    expect(count(html, /<figure\b/g)).toBe(PLOTS.length);
    expect(count(html, /<figcaption>[^<]+\.<\/figcaption>/g)).toBe(PLOTS.length);
    for (const name of PLOTS) expect(html).toContain(`<figure id="${name}">`);
    expect(html).not.toMatch(/<script\b/i);
    expect(externalReferences(html)).toEqual([]);
    // Header: scenario, policy, seed, backend, cost profile, rounds, devices, wall time, log hash.
    for (const field of ['scenario', 'policy', 'seed', 'backend', 'cost profile', 'rounds', 'devices', 'wall time', 'log hash']) {
      expect(html).toContain(`<dt>${field}</dt>`);
    }
    const s = run.summary;
    for (const value of [s.scenario, s.policy, String(s.seed), s.backend, s.costProfile, String(s.rounds), String(s.devices), s.logHash]) {
      expect(html).toContain(`<dd>${value}</dd>`);
    }
  });

  it('gives every id in the page a distinct value (Vega numbers clip paths from 1 in each SVG)', async () => {
    const { html } = await writeReport(dir, [syntheticRun({ policy: 'p', devices: 8, rounds: 10 })]);
    const ids = [...(await readFile(html, 'utf8')).matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(PLOTS.length);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('writes figure.svg as a standalone SVG of accuracy against virtual time', async () => {
    const { figure } = await writeReport(dir, [syntheticRun({ policy: 'lyapunov', rounds: 15 })]);
    const svg = await readFile(figure, 'utf8');
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(tagsBalanced(svg)).toBe(true);
    expect(svg).toContain('virtual time (s)');
    expect(svg).toContain('test accuracy');
  });

  it('compares three policies: lines per policy, a summary row per policy, one legend entry each', async () => {
    // Prepare
    const runs = [
      syntheticRun({ policy: 'lyapunov', seed: 3, devices: 30, rounds: 40 }),
      syntheticRun({ policy: 'random', seed: 3, devices: 30, rounds: 40, admitted: 9 }),
      syntheticRun({ policy: 'myopic', seed: 3, devices: 30, rounds: 40, learnRounds: 10 }),
    ];

    // Execute
    const out = await writeReport(dir, runs, { title: 'three policies' });

    // Assert
    const html = await readFile(out.html, 'utf8');
    expect(html).toContain('<title>three policies</title>');
    expect(count(html, /<svg\b/g)).toBe(PLOTS.length);
    expect(externalReferences(html)).toEqual([]);
    expect(tagsBalanced(html.slice(html.indexOf('<html')).replace(/<(meta|br)\b[^>]*>/g, ''))).toBe(true);
    for (const policy of ['lyapunov', 'random', 'myopic']) {
      expect(html).toContain(`<tr><td>${policy}</td>`);
    }
    for (const column of [
      'final accuracy',
      'mean admitted',
      'mean energy / device',
      'max energy / device',
      'devices over budget',
      'time-average penalty',
      'virtual time',
      'wall time',
    ]) {
      expect(html).toContain(`<th>${column}`);
    }
    const figure = await readFile(out.figure, 'utf8');
    for (const policy of ['lyapunov', 'random', 'myopic']) expect(figure).toContain(`>${policy}</text>`);
    expect(tagsBalanced(figure)).toBe(true);
  });

  it('escapes names it puts in the page', async () => {
    const run = syntheticRun({ policy: '<b>bold</b>', rounds: 5, devices: 4 });
    const html = await readFile((await writeReport(dir, [run])).html, 'utf8');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt;');
  });

  it('keeps a 500-device, 300-round comparison small', async () => {
    const runs = [
      syntheticRun({ policy: 'lyapunov', devices: 500, rounds: 300, admitted: 12 }),
      syntheticRun({ policy: 'all', devices: 500, rounds: 300, admitted: 30 }),
    ];
    const out = await writeReport(dir, runs);
    const html = await readFile(out.html, 'utf8');
    expect(count(html, /<svg\b/g)).toBe(PLOTS.length);
    expect(html.length).toBeLessThan(1_200_000);
    expect((await readFile(out.figure, 'utf8')).length).toBeLessThan(100_000);
  });

  it('renders a run with no rounds and refuses an empty list of runs', async () => {
    const empty = syntheticRun({ policy: 'p', rounds: 0, devices: 3 });
    const html = await readFile((await writeReport(dir, [empty])).html, 'utf8');
    expect(count(html, /<svg\b/g)).toBe(PLOTS.length);
    await expect(writeReport(dir, [])).rejects.toBeInstanceOf(ReportError);
  });
});

describe('report data', () => {
  it('labels runs by policy, adding the seed and then a number only when needed', () => {
    const runs = [
      syntheticRun({ policy: 'a', seed: 1, rounds: 1 }),
      syntheticRun({ policy: 'a', seed: 2, rounds: 1 }),
      syntheticRun({ policy: 'b', seed: 1, rounds: 1 }),
      syntheticRun({ policy: 'b', seed: 1, rounds: 1 }),
    ];
    expect(runLabels(runs)).toEqual(['a (seed 1)', 'a (seed 2)', 'b (seed 1) #3', 'b (seed 1) #4']);
  });

  it('averages long runs into at most maxPoints bins, keeping the maximum queue', () => {
    const run = syntheticRun({ policy: 'p', rounds: 10, devices: 5 });
    const points = roundPoints('p', run.rounds, 5);
    expect(points).toHaveLength(5);
    expect(points.map((p) => p.round)).toEqual([1.5, 3.5, 5.5, 7.5, 9.5]);
    const raw = roundPoints('p', run.rounds);
    expect(points[0]?.maxQueue).toBe(Math.max(raw[0]?.maxQueue as number, raw[1]?.maxQueue as number));
    expect(points[0]?.accuracy).toBeCloseTo(((raw[0]?.accuracy as number) + (raw[1]?.accuracy as number)) / 2, 12);
  });

  it('computes time-average energies by hand on two rounds, padding never-admitted devices', () => {
    // Prepare: 3 devices, d2 never admitted; d0 spends 0.2 J then 0.1 J, d1 0.05 J once.
    const run = syntheticRun({ policy: 'p', rounds: 2, devices: 3 });
    run.rounds[0] = { ...(run.rounds[0] as (typeof run.rounds)[number]), admitted: ['d0', 'd1'], energyJ: { d0: 0.2, d1: 0.05 } };
    run.rounds[1] = { ...(run.rounds[1] as (typeof run.rounds)[number]), admitted: ['d0'], energyJ: { d0: 0.1 } };

    // Execute
    const energies = deviceEnergies('p', run, ['d0', 'd1']);

    // Assert
    expect(energies.map((e) => [e.device, e.rank, +e.energyJ.toFixed(12)])).toEqual([
      ['d0', 1, 0.15],
      ['d1', 2, 0.025],
      ['(never admitted)', 3, 0],
    ]);
  });

  it('bins bandwidth shares so that each cell is Σβ over its devices averaged over its rounds', () => {
    const run = syntheticRun({ policy: 'p', rounds: 2, devices: 4 });
    run.rounds[0] = { ...(run.rounds[0] as (typeof run.rounds)[number]), round: 1, bandwidth: { d0: 0.5, d1: 0.3, d3: 0.2 } };
    run.rounds[1] = { ...(run.rounds[1] as (typeof run.rounds)[number]), round: 2, bandwidth: { d1: 1 } };
    const cells = bandwidthCells('p', run.rounds, ['d0', 'd1', 'd2', 'd3'], 2, 1);
    expect(cells.map((c) => [c.deviceStart, c.deviceEnd, c.roundStart, c.roundEnd, +c.share.toFixed(12)])).toEqual([
      [-0.5, 1.5, 0.5, 2.5, 0.9], // (0.5 + 0.3 + 1) / 2
      [1.5, 3.5, 0.5, 2.5, 0.1], // 0.2 / 2
    ]);
    // Shares per round never exceed 1 in total.
    const unbinned = bandwidthCells('p', run.rounds, ['d0', 'd1', 'd2', 'd3']);
    expect(unbinned.reduce((s, c) => s + c.share, 0)).toBeCloseTo(2, 12);
  });

  it('makes SVG ids unique per plot and shortens coordinates', () => {
    const svg =
      '<svg><clipPath id="clip1"/><g clip-path="url(#clip1)"><path d="M0.123456,1.5h10.987654Z" transform="translate(0.3333333,2)"/><text>0.123456</text></g></svg>';
    expect(prefixSvgIds(compactSvg(svg), 'p3')).toBe(
      '<svg><clipPath id="p3-clip1"/><g clip-path="url(#p3-clip1)"><path d="M0.12,1.5h10.99Z" transform="translate(0.33,2)"/><text>0.123456</text></g></svg>',
    );
  });
});
