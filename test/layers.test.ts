/**
 * The layers hold (issue 18 item 1; README "How it is built"): the actor system (runtime/) imports
 * nothing of the simulation, channels/ and scheduler/ nothing but leaf helpers (and the scheduler the
 * channel's formulas), models/ nothing of the application; a wrong import is caught.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LAYERS, layerViolations } from './layers';

const ROOT = join(__dirname, '..');
/** Folders above every layer: they may import anything. */
const TOP_LEVEL = ['bench', 'test', 'examples', 'bin'];

describe('layers', () => {
  it('every import of the tree goes down the layers', () => {
    expect(layerViolations(ROOT)).toEqual([]);
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
