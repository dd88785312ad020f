/**
 * Invariants of every decision (fast-check): feasibility (Σβ ≤ 1, every admitted
 * device meets T_max with the decision's own rates, MODEL.md §6), queues never negative, a device
 * with T_k(1) > T_max never admitted, unavailable devices reported and never admitted; for the
 * Lyapunov policy and every baseline (MODEL.md §7). Plus instance validation and solve-slot.
 */
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RandomStream } from '../util/random';
import { POLICY_NAMES } from '../app/scenario';
import {
  createPolicy,
  createRandomInstance,
  decideInstance,
  deviceLatencyS,
  parseSlotInstance,
  phiCount,
  solveSlotFile,
  SlotInstanceError,
  updateQueues,
  type Decision,
  type SlotInstance,
} from '../scheduler';

function checkFeasible(inst: SlotInstance, d: Decision): void {
  const n = d.admitted.length;
  let sum = 0;
  for (const id of d.admitted) {
    const k = inst.devices.findIndex((x) => x.id === id);
    const dev = inst.devices[k]!;
    const beta = d.bandwidth[id] as number;
    expect(beta).toBeGreaterThan(0);
    sum += beta;
    expect(dev.available).not.toBe(false);
    expect(deviceLatencyS(inst, dev, 1, 1)).toBeLessThanOrEqual(inst.deadlineS);
    expect(deviceLatencyS(inst, dev, beta, n)).toBeLessThanOrEqual(inst.deadlineS);
    expect(d.latencyS[id]).toBe(deviceLatencyS(inst, dev, beta, n));
  }
  expect(sum).toBeLessThanOrEqual(1);
  expect(Object.keys(d.bandwidth).sort()).toEqual([...d.admitted].sort());
  const unavailable = inst.devices.filter((x) => x.available === false).map((x) => x.id);
  expect(d.unavailable ?? []).toEqual(unavailable);
  for (const id of d.stragglers ?? []) expect(d.admitted).not.toContain(id);
  expect(Number.isFinite(d.objective)).toBe(true);
}

const instanceArb = fc
  .record({ seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }), count: fc.integer({ min: 1, max: 30 }) })
  .map(({ seed, count }) => createRandomInstance(RandomStream.fromSeed(seed, 'prop'), { deviceCount: count, unavailableShare: 0.15 }));

describe('decisions are feasible', () => {
  it("lyapunov: Σβ ≤ 1, T_k ≤ T_max at the decision's own rates, no device with T_k(1) > T_max", () => {
    fc.assert(
      fc.property(instanceArb, (inst) => checkFeasible(inst, decideInstance(inst))),
      { numRuns: 150 },
    );
  });
  it('the fast search alone and the exact solver too', () => {
    fc.assert(
      fc.property(instanceArb, (inst) => {
        checkFeasible(inst, decideInstance(inst, { method: 'search' }));
        if (inst.devices.length <= 12) checkFeasible(inst, decideInstance(inst, { method: 'exact' }));
      }),
      { numRuns: 80 },
    );
  });
  it.each(POLICY_NAMES)('policy %s', (name) => {
    const policy = createPolicy(name, { randomCount: 4 });
    fc.assert(
      fc.property(instanceArb, fc.integer({ min: 0, max: 1000 }), (inst, seed) => {
        let state = policy.initialState(seed);
        for (let slot = 0; slot < 3; slot++) {
          const out = policy.decide(state, inst, slot);
          checkFeasible(inst, out.decision);
          state = JSON.parse(JSON.stringify(out.state)); // checkpointable
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('policies', () => {
  const inst = createRandomInstance(RandomStream.fromSeed(5, 'pol'), { deviceCount: 30, V: 10, penalty: 'count', deadlineS: 2 });
  it('random and round-robin draw n devices; their state restores the same draw', () => {
    const random = createPolicy('random', { randomCount: 5 });
    const s0 = random.initialState(9);
    const a = random.decide(s0, inst, 0);
    const b = random.decide(JSON.parse(JSON.stringify(s0)), inst, 0);
    expect(a.decision).toEqual(b.decision);
    expect(a.decision.admitted.length + (a.decision.stragglers?.length ?? 0)).toBe(5);
    const rr = createPolicy('round-robin', { randomCount: 4 });
    const first = rr.decide(rr.initialState(0), inst, 0);
    expect(first.state).toEqual({ next: 4 });
    expect([...first.decision.admitted, ...(first.decision.stragglers ?? [])].sort()).toEqual(['d0', 'd1', 'd2', 'd3']);
  });
  it("'all' gives equal shares and lists the stragglers", () => {
    const d = createPolicy('all', { randomCount: 1 }).decide(null, inst, 0).decision;
    expect(d.admitted.length + (d.stragglers?.length ?? 0)).toBe(30);
    for (const id of d.admitted) expect(d.bandwidth[id]).toBeCloseTo(1 / 30, 10);
  });
  it('myopic admits at least as many devices as lyapunov, and no more than fit', () => {
    const queued = { ...inst, devices: inst.devices.map((d) => ({ ...d, queue: 5 })) };
    const my = createPolicy('myopic', { randomCount: 1 }).decide(null, queued, 0).decision;
    const ly = createPolicy('lyapunov', { randomCount: 1 }).decide(null, queued, 0).decision;
    expect(my.admitted.length).toBeGreaterThanOrEqual(ly.admitted.length);
    expect(my.penalty).toBeLessThanOrEqual(ly.penalty);
  });
  it('energy-greedy admits between 1 and n devices', () => {
    const eg = createPolicy('energy-greedy', { randomCount: 5 }).decide(null, inst, 0).decision;
    expect(eg.admitted.length).toBeLessThanOrEqual(5);
    expect(eg.admitted.length).toBeGreaterThan(0);
  });
});

describe('queues', () => {
  it('never go negative', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.double({ min: 0, max: 100, noNaN: true }),
            fc.double({ min: 0, max: 10, noNaN: true }),
            fc.double({ min: 0, max: 10, noNaN: true }),
          ),
          { maxLength: 50 },
        ),
        (rows) => {
          const next = updateQueues(
            rows.map((r) => r[0]),
            rows.map((r) => r[1]),
            rows.map((r) => r[2]),
          );
          next.forEach((q, k) => {
            expect(q).toBeGreaterThanOrEqual(0);
            expect(q).toBe(Math.max(rows[k]![0] + rows[k]![1] - rows[k]![2], 0));
          });
        },
      ),
    );
  });
});

describe('penalty (MODEL.md §5)', () => {
  it('Φ(1) = 1, Φ(K) = 0, Φ(∅) = Φ_empty, K = 1 gives 0', () => {
    expect(phiCount(1, 50, 1, 2)).toBe(1);
    expect(phiCount(50, 50, 1, 2)).toBe(0);
    expect(phiCount(0, 50, 0.5, 2)).toBe(1);
    expect(phiCount(1, 1, 1, 2)).toBe(0);
  });
});

describe('instance validation and solve-slot (INTERFACE.md)', () => {
  const good = createRandomInstance(RandomStream.fromSeed(1, 'cli'), { deviceCount: 4 });
  it('names the field and the rule', () => {
    const bad = JSON.parse(JSON.stringify(good));
    bad.devices[2].gain = -1;
    bad.bandwidthHz = 'wide';
    bad.extra = 1;
    let error: unknown;
    try {
      parseSlotInstance(bad, 'slot.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SlotInstanceError);
    const message = (error as Error).message;
    expect(message).toMatch(/^slot\.json: /);
    expect(message).toMatch(/devices\[2\]\.gain: .*>=0/);
    expect(message).toMatch(/bandwidthHz: /);
    expect(message).toMatch(/extra: unknown field/);
    const dup = { ...good, devices: [good.devices[0], good.devices[0]] };
    expect(() => parseSlotInstance(dup)).toThrow(/devices\[1\]\.id: duplicate id 'd0'/);
  });
  it('solveSlotFile: exit 0 and the decision as JSON; exit 2 and a message naming file and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlora-slot-'));
    const ok = join(dir, 'ok.json');
    writeFileSync(ok, JSON.stringify(good));
    const res = solveSlotFile(ok);
    expect(res.exitCode).toBe(0);
    const decision = JSON.parse(res.output) as Decision;
    expect(decision.objective).toBeCloseTo(decideInstance(good).objective, 12);
    checkFeasible(good, decision);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...good, deadlineS: 0 }));
    expect(solveSlotFile(bad)).toEqual({ exitCode: 2, output: expect.stringMatching(/bad\.json: deadlineS: /) });
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{');
    expect(solveSlotFile(broken).exitCode).toBe(2);
    expect(solveSlotFile(join(dir, 'missing.json')).output).toMatch(/missing\.json: cannot read file/);
  });
});
