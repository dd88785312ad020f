/**
 * The driver accounts a round's transfers on the live medium while the hosts run the next slot's
 * pass A (or before a checkpoint): a transfer an actor charged on a link that the applied decision
 * does not give still stops the run with the medium's TransferError, which names the round, and
 * the rows of the rounds before it are written.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../app/scenario';
import { runToFolder } from '../app/sim/run';
import type { TransferCompletion } from '../channels/transfer';
import { TransferError } from '../channels/errors';

/** Changes what the actors' `completeTransfer` returns (the medium's own check calls the real one inside its module). */
let mockCharge: ((charged: TransferCompletion) => TransferCompletion) | undefined;
jest.mock('../channels/transfer', () => {
  const actual = jest.requireActual<typeof import('../channels/transfer')>('../channels/transfer');
  return {
    ...actual,
    completeTransfer: (...args: Parameters<typeof actual.completeTransfer>) => {
      const charged = actual.completeTransfer(...args);
      return mockCharge ? mockCharge(charged) : charged;
    },
  };
});

const quick = loadScenario(join(__dirname, '..', 'scenarios', 'quick.json'));
const fresh = (name: string) => mkdtempSync(join(tmpdir(), `airlora-${name}-`));

describe('a transfer charged on another link than the applied decision gives', () => {
  afterEach(() => (mockCharge = undefined));

  it.each([
    ['while the hosts run the next pass A', 100],
    ['before a checkpoint', 2],
  ])('stops the run with a TransferError of its round, accounted %s; the earlier rows are written', async (_when, checkpointEvery) => {
    // Prepare: the edge server's shards charge round 1's features at twice their link's rate (the
    // actors run in this thread with 0 workers; the medium's own check computes the true charge).
    mockCharge = (c) => (c.slot === 1 && c.type === 'features' ? { ...c, rateBps: 2 * c.rateBps } : c);
    const scenario = { ...quick, training: { ...quick.training, rounds: 4 }, runtime: { ...quick.runtime, checkpointEvery } };
    const outDir = fresh('account');
    // Execute
    const run = runToFolder(scenario, { outDir, workers: 0 });
    // Assert
    await expect(run).rejects.toThrow(TransferError);
    await expect(run).rejects.toThrow(
      /^slot 1: features downlink of device d\d+ was charged at [\d.e+]+ bit\/s in slot 1, its link in the applied decision gives/,
    );
    const rows = readFileSync(join(outDir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(2); // the header and round 0
    expect(rows[1]?.split(',')[0]).toBe('0');
  });
});
