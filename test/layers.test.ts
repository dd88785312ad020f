/**
 * The layers hold (README "How it is built"): the actor system (runtime/) imports
 * nothing of the simulation, channels/ and scheduler/ nothing but leaf helpers (and the scheduler the
 * channel's formulas), models/ nothing of the application; a wrong import is caught.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LAYERS, layerViolations, withLayerPicture } from './layers';

const ROOT = join(__dirname, '..');
/** Folders above every layer: they may import anything. */
const TOP_LEVEL = ['bench', 'test', 'examples', 'bin'];

describe('layers', () => {
  it('every import of the tree goes down the layers', () => {
    expect(layerViolations(ROOT)).toEqual([]);
  });

  it("docs/architecture.md's picture is the one the imports draw (else: npm run docs:layers)", () => {
    const page = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    expect(page).toEqual(withLayerPicture(page, ROOT));
  });

  it('the picture changes when an import goes across layers', () => {
    const page = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const copy = mkdtempSync(join(tmpdir(), 'airlora-picture-'));
    try {
      mkdirSync(join(copy, 'channels'));
      mkdirSync(join(copy, 'util'));
      writeFileSync(join(copy, 'util', 'random.ts'), 'export const x = 1;\n');
      writeFileSync(join(copy, 'channels', 'a.ts'), "import { x } from '../util/random';\n");
      expect(withLayerPicture(page, copy)).toContain('channels -->|1| util');
      expect(withLayerPicture(page, copy)).not.toContain('scheduler -->');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('no source comment points to an issue number or to notes outside the repository', () => {
    const sources = ['app', 'runtime', 'actors', 'channels', 'scheduler', 'models', 'util', 'test', 'bench', 'examples', 'bin']
      .flatMap((dir) => readdirSync(join(ROOT, dir), { recursive: true }).map((f) => join(dir, String(f))))
      .filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.includes('fixtures'));
    const found = sources.flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          /\bissues? #?\d+/i.test(line) || /\b(STACK|STYLE)\.md\b/.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(found).toEqual([]);
  });

  it('every folder with sources is a layer or top level', () => {
    const folders = readdirSync(ROOT).filter(
      (name) =>
        !name.startsWith('.') &&
        name !== 'node_modules' &&
        name !== 'dist' &&
        statSync(join(ROOT, name)).isDirectory() &&
        readdirSync(join(ROOT, name), { recursive: true }).some((f) => /\.(ts|js)$/.test(String(f))),
    );
    expect(folders.filter((f) => !(f in LAYERS) && !TOP_LEVEL.includes(f))).toEqual([]);
  });

  describe('on a copy with wrong imports', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'airlora-layers-'));
      const put = (file: string, text: string) => {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file), text);
      };
      // a real file of the tree with one import added that breaks its layer
      put(
        'channels/traffic.ts',
        `${readFileSync(join(ROOT, 'channels', 'traffic.ts'), 'utf8')}\nimport type { Scenario } from '../app/scenario';\n`,
      );
      put('runtime/host.ts', "const kinds = require('../actors/device');\n");
      put('models/data.ts', "export async function load() { return import('../app/scenario'); }\n");
      put('util/random.ts', "export * from '../runtime/actor';\n");
      put('channels/fading.ts', "import { sfc32 } from '../util/random';\nimport { x } from './geometry';\n");
      put('actors/device.ts', "import { ActorKind } from '../runtime/actor';\nimport { z } from 'zod';\n");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('names each wrong import, and only those', () => {
      const found = layerViolations(dir);
      expect(found).toHaveLength(4);
      expect(found.map((v) => v.split(' → ')[0]).sort()).toEqual([
        'channels/traffic.ts',
        'models/data.ts',
        'runtime/host.ts',
        'util/random.ts',
      ]);
      expect(found.find((v) => v.startsWith('channels/traffic.ts'))).toContain(
        "app/scenario (import '../app/scenario'): channels/ may import only channels, util",
      );
    });
  });
});
