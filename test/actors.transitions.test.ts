/**
 * Each built-in actor kind's `transition` called directly with hand-made messages (Prepare /
 * Execute / Assert): what it sends, to whom, when, and what it charges, against hand computations
 * with the medium's one charge (channels/transfer.ts) and the compute costs (scheduler/costs.ts).
 * The device, shard and evaluator use the real per-worker resources of quick.json (frozen model, data).
 */
import { join } from 'node:path';
import type { ActorContext, Effect, Envelope } from '../runtime/actor';
import { UnexpectedMessageError } from '../runtime/actor';
import { RandomStream } from '../util/random';
import { loadScenario } from '../app/scenario';
import { planRun } from '../app/sim/setup';
import { loadSimulationResources, type SimulationResources } from '../actors/resources';
import { deviceKind, type DeviceParams, type DeviceState } from '../actors/device';
import { serverKind, type ServerParams, type ServerState } from '../actors/server';
import { schedulerKind, REPORT_WINDOW_S, type SchedulerParams } from '../actors/scheduler';
import { shardKind, type ShardParams } from '../actors/shard';
import { evaluatorKind, type EvaluatorParams } from '../actors/evaluator';
import type { Decided, GlobalHead, HeadUpload, Merge, QueueReport, RoundSummary, GlobalLora, Weights } from '../actors/roundMessages';
import { cloudKind, type CloudParams } from '../actors/cloud';
import { linkStateOf, completeTransfer, transferCost, type LinkState } from '../channels';
import { deviceCompute, serverComputeS } from '../scheduler/costs';
import { updateQueue } from '../scheduler/queues';
import { initHead, initLora } from '../models';
import type { ServerCompute } from '../models/compute';

const quick = loadScenario(join(__dirname, '..', 'scenarios', 'quick.json'));
const plan = planRun({ ...quick, training: { ...quick.training, localIterations: 1 } });
const paramsOf = <P>(id: string): P => plan.actors.find((a) => a.id === id)!.params as P;
const deviceParams = paramsOf<DeviceParams>('d0');
const serverParams = paramsOf<ServerParams>('server');
const shardParams = paramsOf<ShardParams>('shard0');
const radio = deviceParams.radio;
const costs = deviceParams.costs;

let resources: SimulationResources;
beforeAll(async () => {
  resources = await loadSimulationResources(plan.resourceArgs);
}, 120_000);

const ctxOf = (self: string, t: number): ActorContext => ({
  self,
  slot: 3,
  t,
  random: RandomStream.fromSeed(11).fork(self),
  resources: { simulation: resources },
});
const envelope = <B>(from: string, to: string, type: string, body: B, t: number): Envelope<B> => ({
  seq: 0,
  slot: 3,
  t,
  from,
  to,
  type,
  body,
});
const sends = (effects: readonly Effect[]) => effects.filter((e): e is Extract<Effect, { kind: 'send' }> => e.kind === 'send');
/** d0's link on 30% of the band at a mid-cell gain. */
const link: LinkState = linkStateOf(0, true, 1e-12, 1, 0.3, 0.3, radio);

describe('device', () => {
  it("slot-start settles the last round's queue and reports to the scheduler; a silent device reports nothing", () => {
    // Prepare: a device that spent 0.3 J in round 2 with Q = 0.05 J.
    const spent: DeviceState = { ...deviceKind.initialState(deviceParams, ctxOf('d0', 0)), slot: 2, queueJ: 0.05, energyJ: 0.3 };
    // Execute
    const [next, effects] = deviceKind.transition(
      spent,
      envelope('driver', 'd0', 'slot-start', { slot: 3, gain: 2e-12, reachable: true, dropout: false }, 10),
      ctxOf('d0', 10),
    );
    const [, silent] = deviceKind.transition(
      spent,
      envelope('driver', 'd0', 'slot-start', { slot: 3, gain: 2e-12, reachable: false, dropout: false }, 10),
      ctxOf('d0', 10),
    );
    // Assert: Q(t+1) = max(Q + E − Ē, 0), MODEL.md §6.
    const q = updateQueue(0.05, 0.3, deviceParams.energyBudgetJ);
    expect(next.queueJ).toBe(q);
    expect(sends(effects).map((e) => [e.to, e.type])).toEqual([
      ['driver', 'queue'],
      ['scheduler', 'queue-report'],
    ]);
    expect(sends(effects)[0]!.body).toEqual({ index: 0, round: 2, queue: q, energyJ: 0.3 });
    expect(sends(effects)[1]!.body).toMatchObject({
      index: 0,
      id: 'd0',
      queue: q,
      gain: 2e-12,
      powerW: radio.powerW,
    } satisfies Partial<QueueReport>);
    expect(sends(silent).map((e) => e.type)).toEqual(['queue']);
  });

  it('global-head: embeds a batch and sends it up after compute + airtime, charging compute and transmit energy', () => {
    // Prepare
    const started = deviceKind.transition(
      deviceKind.initialState(deviceParams, ctxOf('d0', 0)),
      envelope('driver', 'd0', 'slot-start', { slot: 3, gain: 1e-12, reachable: true, dropout: false }, 10),
      ctxOf('d0', 10),
    )[0];
    const headCharge = completeTransfer({ device: 0, type: 'heads', direction: 'downlink', bits: costs.headBits }, link, radio, 3);
    const head: GlobalHead = {
      slot: 3,
      head: initHead(resources.foundation, RandomStream.fromSeed(1)),
      shard: 'shard0',
      link,
      charge: headCharge,
    };
    // Execute
    const [next, effects] = deviceKind.transition(started, envelope('server', 'd0', 'global-head', head, 10.5), ctxOf('d0', 10.5));
    // Assert
    const compute = deviceCompute(costs.deviceFlopsPerIteration, deviceParams.cpuHz, deviceParams.flopsPerCycle, deviceParams.kappa);
    const up = transferCost(costs.activationsBits, 'uplink', link, radio.powerW);
    const [sent] = sends(effects);
    expect([sent!.to, sent!.type]).toEqual(['shard0', 'activations']);
    expect(sent!.delayS).toBe(compute.timeS + up.airtimeS);
    expect(next.energyJ).toBe(compute.energyJ + up.energyJ);
    expect(next.transfers.map((c) => `${c.type}/${c.direction}`)).toEqual(['heads/downlink', 'activations/uplink']);
  });

  it('a dropped-out device goes quiet on its global head; an unknown message is refused by name', () => {
    const dropped = deviceKind.transition(
      deviceKind.initialState(deviceParams, ctxOf('d0', 0)),
      envelope('driver', 'd0', 'slot-start', { slot: 3, gain: 1e-12, reachable: true, dropout: true }, 10),
      ctxOf('d0', 10),
    )[0];
    const head: GlobalHead = {
      slot: 3,
      head: initHead(resources.foundation, RandomStream.fromSeed(1)),
      shard: 'shard0',
      link,
      charge: completeTransfer({ device: 0, type: 'heads', direction: 'downlink', bits: 8 }, link, radio, 3),
    };
    expect(deviceKind.transition(dropped, envelope('server', 'd0', 'global-head', head, 10.5), ctxOf('d0', 10.5))[1]).toEqual([]);
    const call = () => deviceKind.transition(dropped, envelope('driver', 'd0', 'admission', {}, 10.5), ctxOf('d0', 10.5));
    expect(call).toThrow(UnexpectedMessageError);
    expect(call).toThrow('d0: unexpected message admission');
  });
  it('features of several devices in one group (transitionGroup) give each device what it gets alone, last iteration or not', () => {
    // Prepare: d0, d1, d2 after their global head (d1 with two local iterations, so its first features is not its last).
    const ids = ['d0', 'd1', 'd2'];
    const opened = ids.map((id, k) => {
      const params = { ...paramsOf<DeviceParams>(id), ...(id === 'd1' ? { localIterations: 2 } : {}) };
      const started = deviceKind.transition(
        deviceKind.initialState(params, ctxOf(id, 0)),
        envelope('driver', id, 'slot-start', { slot: 3, gain: 1e-12, reachable: true, dropout: false }, 10),
        ctxOf(id, 10),
      )[0];
      const devLink = linkStateOf(k, true, 1e-12, 1, 0.3, 0.3, params.radio);
      const head: GlobalHead = {
        slot: 3,
        head: initHead(resources.foundation, RandomStream.fromSeed(1)),
        shard: 'shard0',
        link: devLink,
        charge: completeTransfer({ device: k, type: 'heads', direction: 'downlink', bits: costs.headBits }, devLink, params.radio, 3),
      };
      const [state, effects] = deviceKind.transition(started, envelope('server', id, 'global-head', head, 10.5), ctxOf(id, 10.5));
      // The activations it sent stand in for the server's features (the same shape).
      const cut = (sends(effects)[0]!.body as { cut: unknown }).cut;
      const charge = completeTransfer(
        { device: k, type: 'features', direction: 'downlink', bits: costs.featuresBits },
        devLink,
        params.radio,
        3,
      );
      return { id, state, message: envelope('shard0', id, 'features', { slot: 3, cut, charge }, 11 + k) };
    });
    // Execute
    const alone = opened.map((o) => deviceKind.transition(o.state, o.message, ctxOf(o.id, o.message.t)));
    const together = deviceKind.transitionGroup!(
      opened.map((o) => ({ state: o.state, message: o.message, ctx: ctxOf(o.id, o.message.t) })),
    )!;
    const others = deviceKind.transitionGroup!(
      opened.map((o) => ({ state: o.state, message: { ...o.message, type: 'global-head' }, ctx: ctxOf(o.id, 11) })),
    );
    // Assert: the same states and effects, tensors included; d1 sent its next activations, d0 and d2
    // their heads. Other messages are declined (null: one by one).
    expect(together).toEqual(alone);
    expect(others).toBeNull();
    expect(together.map(([, effects]) => sends(effects).map((e) => e.type))).toEqual([
      ['cut-gradient', 'head-upload'],
      ['cut-gradient', 'activations'],
      ['cut-gradient', 'head-upload'],
    ]);
  });
});

describe('shard', () => {
  it('opens a session, then answers activations with features after t^srv + downlink airtime, charged on the device link', () => {
    // Prepare
    const lora = initLora(resources.foundation, RandomStream.fromSeed(2));
    const open: GlobalLora = { slot: 3, device: 'd0', dataSize: 100, lora, link, admittedCount: 4 };
    const opened = shardKind.transition(
      shardKind.initialState(shardParams, ctxOf('shard0', 0)),
      envelope('server', 'shard0', 'global-lora', open, 10),
      ctxOf('shard0', 10),
    )[0];
    const rows = resources.train.features.subarray(0, 16 * resources.train.featureSize);
    const { embed } = jest.requireActual<typeof import('../models')>('../models');
    const cut = embed(resources.foundation, new Float32Array(rows), 16);
    // Execute
    const [, effects] = shardKind.transition(opened, envelope('d0', 'shard0', 'activations', { slot: 3, cut }, 11), ctxOf('shard0', 11));
    // Assert
    const [sent] = sends(effects);
    const down = transferCost(costs.featuresBits, 'downlink', link, radio.powerW);
    expect([sent!.to, sent!.type]).toEqual(['d0', 'features']);
    expect(sent!.delayS).toBe(serverComputeS(costs.serverFlopsPerIteration, 4, shardParams.serverFlops) + down.airtimeS);
    expect((sent!.body as { charge: { airtimeS: number; energyJ: number } }).charge).toMatchObject({ airtimeS: down.airtimeS, energyJ: 0 });
  });
});

describe('shards of one worker (transitionMailGroup)', () => {
  it("batch their devices in one pass each way, cut gradients in the forward pass's order, with what each shard alone gives", () => {
    // Prepare: d0 and d1 on shard0, d2 on shard1; a compute that notes each pass's devices (by cache key).
    const passes: string[] = [];
    const inner = resources.compute;
    const compute: ServerCompute = {
      backend: inner.backend,
      forward: (items, options) => (passes.push(`forward ${(options?.keys ?? []).join(' ')}`), inner.forward(items, options)),
      gradients: (items) => (passes.push(`backward ${items.map((it) => it.cache.key).join(' ')}`), inner.gradients(items)),
      release: (prefix) => inner.release(prefix),
      evaluate: (lora, head, data, max) => inner.evaluate(lora, head, data, max),
    };
    const spied = { ...resources, compute };
    const ctx = (self: string, t: number): ActorContext => ({ ...ctxOf(self, t), resources: { simulation: spied } });
    const ids = ['d0', 'd1', 'd2'];
    const shardOf = (d: string) => (d === 'd2' ? 'shard1' : 'shard0');
    const cut = (k: number) => {
      const rows = resources.train.features.subarray(16 * k * resources.train.featureSize, 16 * (k + 1) * resources.train.featureSize);
      const { embed } = jest.requireActual<typeof import('../models')>('../models');
      return embed(resources.foundation, new Float32Array(rows), 16);
    };
    const open = (shard: string) => {
      let state = shardKind.initialState({ ...shardParams, batchDevices: 8 }, ctxOf(shard, 0));
      for (const [k, d] of ids.entries())
        if (shardOf(d) === shard) {
          const body: GlobalLora = {
            slot: 3,
            device: d,
            dataSize: 100,
            lora: initLora(resources.foundation, RandomStream.fromSeed(k)),
            link,
            admittedCount: 3,
          };
          state = shardKind.transition(state, envelope('server', shard, 'global-lora', body, 10), ctx(shard, 10))[0];
        }
      return state;
    };
    // shard0 gets d1's activations before d0's, then their cut gradients the other way round.
    const forwardMail = {
      shard0: [
        envelope('d1', 'shard0', 'activations', { slot: 3, cut: cut(1) }, 11),
        envelope('d0', 'shard0', 'activations', { slot: 3, cut: cut(0) }, 11.5),
      ],
      shard1: [envelope('d2', 'shard1', 'activations', { slot: 3, cut: cut(2) }, 11)],
    };
    const gradientOf = (d: string, t: number) => {
      const k = ids.indexOf(d);
      const g = cut(k + 3);
      return envelope(d, shardOf(d), 'cut-gradient', { slot: 3, cut: { ...g, data: g.data.map((v) => v * 1e-3) }, last: false }, t);
    };
    const backwardMail = { shard0: [gradientOf('d0', 12), gradientOf('d1', 12.5)], shard1: [gradientOf('d2', 12)] };
    const run = (grouped: boolean) => {
      passes.length = 0;
      const states = { shard0: open('shard0'), shard1: open('shard1') };
      const out: unknown[] = [];
      for (const mail of [forwardMail, backwardMail]) {
        const shards = ['shard0', 'shard1'] as const;
        const results = grouped
          ? shardKind.transitionMailGroup!(shards.map((id) => ({ state: states[id], mail: mail[id], ctx: ctx(id, mail[id][0]!.t) })))
          : shards.map((id) =>
              mail[id].length > 1
                ? shardKind.transitionMail!(states[id], mail[id], ctx(id, mail[id][0]!.t))
                : (([next, effects]) => [next, [effects]] as const)(
                    shardKind.transition(states[id], mail[id][0]!, ctx(id, mail[id][0]!.t)),
                  ),
            );
        shards.forEach((id, i) => {
          states[id] = results[i]![0];
          out.push(results[i]![1]);
        });
      }
      const sessions = Object.fromEntries(ids.map((d) => [d, states[shardOf(d)].sessions[d]!.lora]));
      return { out, sessions, passes: [...passes] };
    };
    // Execute
    const alone = run(false);
    const together = run(true);
    // Assert: one forward and one backward pass over the three devices, the backward in the forward
    // pass's order (so that it takes the kept values whole); the same features and adapters as alone.
    expect(alone.passes).toHaveLength(4);
    expect(together.passes).toEqual([
      'forward shard0/3/d1/0 shard0/3/d0/0 shard1/3/d2/0',
      'backward shard0/3/d1/0 shard0/3/d0/0 shard1/3/d2/0',
    ]);
    expect(together.out).toEqual(alone.out);
    expect(together.sessions).toEqual(alone.sessions);
  });
});

describe('scheduler', () => {
  it('waits one report window, then publishes the decision to the driver with the time it was made', () => {
    // Prepare: two devices report; d1 is silent.
    const params = paramsOf<SchedulerParams>('scheduler');
    let state = schedulerKind.initialState(params, ctxOf('scheduler', 0));
    const report = (index: number): QueueReport => ({
      index,
      id: `d${index}`,
      queue: 0,
      gain: 1e-11,
      powerW: radio.powerW,
      cpuHz: 1.5e9,
      flopsPerCycle: 16,
      deviceFlopsPerIteration: costs.deviceFlopsPerIteration,
      dataSize: 50 + index,
    });
    for (const k of [0, 2, 3, 4, 5])
      state = schedulerKind.transition(state, envelope(`d${k}`, 'scheduler', 'queue-report', report(k), 10), ctxOf('scheduler', 10))[0];
    // Execute
    const [, waited] = schedulerKind.transition(
      state,
      envelope('driver', 'scheduler', 'decide', { slot: 3, weight: 1 }, 10),
      ctxOf('scheduler', 10),
    );
    const [after, decided] = schedulerKind.transition(
      state,
      envelope('scheduler', 'scheduler', 'report-deadline', { slot: 3, weight: 1 }, 10 + REPORT_WINDOW_S),
      ctxOf('scheduler', 10 + REPORT_WINDOW_S),
    );
    // Assert
    expect(sends(waited)).toEqual([
      { kind: 'send', to: 'scheduler', type: 'report-deadline', body: { slot: 3, weight: 1 }, delayS: REPORT_WINDOW_S },
    ]);
    const [toDriver] = sends(decided);
    const body = toDriver!.body as Decided;
    expect([toDriver!.to, toDriver!.type]).toEqual(['driver', 'decision']);
    expect(body.decidedT).toBe(10 + REPORT_WINDOW_S);
    expect(body.decision.unavailable).toEqual(['d1']);
    expect(body.decision.admitted.length).toBeGreaterThan(0);
    expect(Object.keys(body.dataSizes)).toEqual(body.decision.admitted);
    expect(decided.some((e) => e.kind === 'log' && e.type === 'decision')).toBe(true);
    expect(after.reports).toEqual({});
  });
});

describe('edge server', () => {
  const tiny = (x: number) => ({ w: new Float32Array([x, x]) });
  const base: ServerState = {
    params: { ...serverParams, shards: ['shard0', 'shard1'], evaluators: ['eval0'] },
    lora: tiny(0),
    head: tiny(0),
    slot: -1,
    decidedT: 0,
    admitted: [],
    heads: {},
    loras: {},
    samplesSinceMerge: 0,
  };

  it('round-open: sends each admitted device its head (charged on its link, delayed by the airtime) and deals sessions to shards in turn', () => {
    const links = { d0: link, d4: linkStateOf(4, true, 3e-12, 1, 0.2, 0.2, radio), d5: linkStateOf(5, true, 5e-13, 1, 0.1, 0.1, radio) };
    // Execute
    const [next, effects] = serverKind.transition(
      base,
      envelope(
        'driver',
        'server',
        'round-open',
        { slot: 3, decidedT: 10.001, admitted: ['d4', 'd0', 'd5'], links, dataSizes: { d0: 10, d4: 40, d5: 50 } },
        10.001,
      ),
      ctxOf('server', 10.001),
    );
    // Assert
    const out = sends(effects);
    expect(out.map((e) => `${e.to} ${e.type}`)).toEqual([
      'd4 global-head',
      'shard0 global-lora',
      'd0 global-head',
      'shard1 global-lora',
      'd5 global-head',
      'shard0 global-lora',
    ]);
    const head = out[0]!.body as GlobalHead;
    expect(out[0]!.delayS).toBe(costs.headBits / links.d4.downlinkRateBps);
    expect(head.charge).toMatchObject({
      device: 4,
      type: 'heads',
      direction: 'downlink',
      airtimeS: costs.headBits / links.d4.downlinkRateBps,
      energyJ: 0,
    });
    expect(out[5]!.body as GlobalLora).toMatchObject({ device: 'd5', dataSize: 50, admittedCount: 3, link: links.d5 });
    expect(next).toMatchObject({ slot: 3, decidedT: 10.001, admitted: ['d4', 'd0', 'd5'] });
  });

  it('close-round: the one place that says who met T_max and how long the round lasted', () => {
    // Prepare: d0 in time (1.2 s), d4 late (2.5 s > T_max = 2 s), d5 never uploaded (dropout).
    const report = (finishT: number) => ({ energyJ: 0.1, transfers: [], meanLoss: 1, finishT });
    const upload = (device: string, t: number): { t: number; upload: HeadUpload } => ({
      t,
      upload: { slot: 3, device, dataSize: 10, weights: tiny(1), report: report(t) },
    });
    const open: ServerState = {
      ...base,
      slot: 3,
      decidedT: 10,
      admitted: ['d0', 'd4', 'd5'],
      heads: { d0: upload('d0', 11.2), d4: upload('d4', 12.5) },
      loras: {
        d0: { t: 11.1, upload: { slot: 3, device: 'd0', dataSize: 10, weights: tiny(1) } },
        d4: { t: 12.4, upload: { slot: 3, device: 'd4', dataSize: 10, weights: tiny(1) } },
      },
    };
    const inTime: ServerState = { ...open, admitted: ['d0'] };
    // Execute
    const [closed, effects] = serverKind.transition(
      open,
      envelope('driver', 'server', 'close-round', { slot: 3 }, 12),
      ctxOf('server', 12),
    );
    const [, onlyD0] = serverKind.transition(inTime, envelope('driver', 'server', 'close-round', { slot: 3 }, 12), ctxOf('server', 12));
    // Assert
    const summary = sends(effects).find((e) => e.type === 'round-summary')!.body as RoundSummary;
    expect(summary).toMatchObject({
      slot: 3,
      decidedT: 10,
      latencyS: serverParams.deadlineS,
      aggregated: ['d0'],
      failures: { d4: 'deadline', d5: 'dropout' },
    });
    expect(summary.reports.map((r) => r.device)).toEqual(['d0', 'd4']);
    expect((sends(onlyD0).find((e) => e.type === 'round-summary')!.body as RoundSummary).latencyS).toBeCloseTo(1.2, 12);
    expect(Array.from(closed.head['w']!)).toEqual([1, 1]);
    expect(sends(effects).map((e) => `${e.to} ${e.type}`)).toEqual(['eval0 global-model', 'driver round-summary']);
  });
});

describe('edge server under a cloud, and the cloud (multi-cell systems)', () => {
  const tiny = (x: number) => ({ w: new Float32Array([x, x]) });
  const backhaul = { rateBps: 1e6, latencyS: 0.01 };
  const cloudLink = { id: 'cloud', everyRounds: 2, backhaul, bitsPerElement: 32 };
  const under: ServerState = {
    params: { ...serverParams, shards: ['A.shard0'], evaluators: ['A.eval0'], cloud: cloudLink },
    lora: tiny(0),
    head: tiny(0),
    slot: 3,
    decidedT: 10,
    admitted: ['A.d0'],
    heads: {},
    loras: {},
    samplesSinceMerge: 7,
  };
  const arrived = (device: string): Pick<ServerState, 'heads' | 'loras'> => ({
    heads: {
      [device]: {
        t: 11,
        upload: { slot: 3, device, dataSize: 10, weights: tiny(1), report: { energyJ: 0.1, transfers: [], meanLoss: 1, finishT: 11 } },
      },
    },
    loras: { [device]: { t: 10.9, upload: { slot: 3, device, dataSize: 10, weights: tiny(2) } } },
  });

  it('close-round of a merge round (round 3, H = 2): the model goes up the backhaul, the evaluators wait for the merged one', () => {
    // Execute
    const [next, effects] = serverKind.transition(
      { ...under, ...arrived('A.d0') },
      envelope('driver', 'A.server', 'close-round', { slot: 3 }, 12),
      ctxOf('A.server', 12),
    );
    // Assert: 4 floats of LoRA and head at 32 bits over 1 Mbit/s after 10 ms.
    const up = sends(effects).find((e) => e.type === 'edge-model')!;
    expect([up.to, up.delayS]).toEqual(['cloud', 0.01 + (4 * 32) / 1e6]);
    expect(up.body).toMatchObject({ round: 3, samples: 17, readyT: 11 });
    expect(sends(effects).map((e) => `${e.to} ${e.type}`)).toEqual(['cloud edge-model', 'driver round-summary']);
    expect(next.samplesSinceMerge).toBe(0);
    // Round 2 is no merge round: evaluators at once, samples kept for the next merge.
    const [kept, plain] = serverKind.transition(
      { ...under, slot: 2, ...arrived('A.d0') },
      envelope('driver', 'A.server', 'close-round', { slot: 2 }, 12),
      ctxOf('A.server', 12),
    );
    expect(sends(plain).map((e) => `${e.to} ${e.type}`)).toEqual(['A.eval0 global-model', 'driver round-summary']);
    expect(kept.samplesSinceMerge).toBe(17);
    // The merged model comes back: it is the edge's model now, and the evaluators score it.
    const [merged, scored] = serverKind.transition(
      next,
      envelope('cloud', 'A.server', 'cloud-model', { round: 3, lora: tiny(5), head: tiny(6), arrivesT: 12.5 }, 12.1),
      ctxOf('A.server', 12.1),
    );
    expect(Array.from(merged.head['w']!)).toEqual([6, 6]);
    expect(sends(scored).map((e) => `${e.to} ${e.type} ${(e.body as { slot: number }).slot}`)).toEqual(['A.eval0 global-model 3']);
  });

  it('the cloud merges when every cell has sent, weighted by samples, and sends the merged model down each backhaul', () => {
    // Prepare
    const params: CloudParams = { servers: ['A.server', 'B.server'], backhaul, bitsPerElement: 32, aggregation: 'fedavg', loraRank: 1 };
    const edge = (x: number, samples: number, readyT: number) => ({ round: 3, samples, readyT, lora: tiny(x), head: tiny(x) });
    const start = cloudKind.initialState(params, ctxOf('cloud', 0));
    // Execute
    const [waiting, none] = cloudKind.transition(
      start,
      envelope('B.server', 'cloud', 'edge-model', edge(4, 30, 11.5), 12.01),
      ctxOf('cloud', 12.01),
    );
    const [done, effects] = cloudKind.transition(
      waiting,
      envelope('A.server', 'cloud', 'edge-model', edge(0, 10, 11), 12.01),
      ctxOf('cloud', 12.01),
    );
    // Assert
    expect(none).toEqual([]);
    const down = sends(effects).filter((e) => e.type === 'cloud-model');
    expect(down.map((e) => e.to)).toEqual(['A.server', 'B.server']);
    expect(Array.from((down[0]!.body as { head: Weights }).head['w']!)).toEqual([3, 3]); // (10·0 + 30·4) / 40
    const delayS = 0.01 + (4 * 32) / 1e6;
    expect(down[0]!.delayS).toBe(delayS);
    const merge = sends(effects).find((e) => e.type === 'merge')!.body as Merge;
    expect(merge.mergedT).toBe(11.5 + delayS); // B's model arrives last
    expect(merge.cells.map((c) => [c.server, c.samples, c.upBits])).toEqual([
      ['A.server', 10, 128],
      ['B.server', 30, 128],
    ]);
    expect(effects.some((e) => e.kind === 'log' && e.type === 'cloud-merge')).toBe(true);
    expect(done.arrived).toEqual({});
    // An edge model from an actor that is no cell's server is refused by name.
    expect(() => cloudKind.transition(start, envelope('C.server', 'cloud', 'edge-model', edge(1, 1, 1), 1), ctxOf('cloud', 1))).toThrow(
      /C\.server/,
    );
  });
});

describe('evaluator', () => {
  it('scores its slice of the test set and reports counts to the driver', () => {
    const params: EvaluatorParams = { shard: 1, shards: 2, evalSamples: 40 };
    const model = {
      slot: 3,
      lora: initLora(resources.foundation, RandomStream.fromSeed(2)),
      head: initHead(resources.foundation, RandomStream.fromSeed(1)),
    };
    const [next, effects] = evaluatorKind.transition(
      evaluatorKind.initialState(params, ctxOf('eval1', 0)),
      envelope('server', 'eval1', 'global-model', model, 12),
      ctxOf('eval1', 12),
    );
    const [sent] = sends(effects);
    expect([sent!.to, sent!.type]).toEqual(['driver', 'evaluation']);
    expect(sent!.body).toMatchObject({ slot: 3, shard: 1, samples: 20 });
    expect(next.evaluated).toBe(1);
  });
});
