/**
 * Example actor kinds for a topology the default scenario does not use: several cells, each with
 * its own edge server, under one cloud aggregator (scenarios/two-cells.json; the runtime's tests).
 * Each device sends a random update to its edge server on every slot tick, after a random airtime;
 * an edge server sums its cell and reports to the cloud; the cloud reports the total to the driver.
 * Load them by module path `airlora:examples/cells` in a scenario's `topology`.
 */
import type { ActorKind, Effect } from '../../runtime/actor';
import { logEvent, sendTo, withImmer } from '../../runtime/immer';

/** A device of a cell: on each tick sends its update (a draw) to its edge server, after a random airtime. */
export const cellDevice: ActorKind<{ rounds: number; edge: string }, { edge: string }> = {
  kind: 'cell-device',
  ticks: true,
  initialState: (p) => ({ rounds: 0, edge: p.edge }),
  transition: (s, m, ctx) => {
    if (m.type !== 'slot') return [s, []];
    const e: Effect = sendTo(s.edge, 'update', { value: ctx.random.int(100) }, 0.01 * (1 + ctx.random.int(5)));
    return [{ ...s, rounds: s.rounds + 1 }, [e]];
  },
};

/** An edge server: sums the updates of its cell's devices; when all arrived, sends the sum to the cloud. */
export const edgeServer: ActorKind<{ sum: number; got: number; devices: number }, { devices: number }> = {
  kind: 'edge-server',
  initialState: (p) => ({ sum: 0, got: 0, devices: p.devices }),
  transition: withImmer<{ sum: number; got: number; devices: number }, { value: number }>((s, m) => {
    if (m.type !== 'update') return [];
    s.sum += m.body.value;
    s.got += 1;
    if (s.got < s.devices) return [];
    const out = [sendTo('cloud', 'cell-sum', { sum: s.sum, t: m.t }, 0.05)];
    s.sum = 0;
    s.got = 0;
    return out;
  }),
};

/** The aggregator above the edges: when every cell reported, tells the driver. */
export const cloud: ActorKind<{ cells: Record<string, number>; expected: number }, { cells: number }> = {
  kind: 'cloud',
  initialState: (p) => ({ cells: {}, expected: p.cells }),
  transition: withImmer<{ cells: Record<string, number>; expected: number }, { sum: number }>((s, m) => {
    if (m.type !== 'cell-sum') return [];
    s.cells[m.from] = m.body.sum;
    if (Object.keys(s.cells).length < s.expected) return [];
    const total = Object.values(s.cells).reduce((a, b) => a + b, 0);
    const out = [sendTo('driver', 'round', { total, cells: { ...s.cells } }), logEvent('aggregate', { total })];
    s.cells = {};
    return out;
  }),
};
