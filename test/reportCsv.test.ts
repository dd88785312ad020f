import { METRICS_CSV_COLUMNS, MetricsCsvError, metricsCsv, metricsCsvRow, parseMetricsCsv } from '../app/report';
import type { RoundMetrics } from '../app/metrics';
import { syntheticRun } from './reportSynthetic';

const HEADER =
  'round,admitted,latencyS,energyJ,meanQueue,maxQueue,penalty,trainLoss,testAccuracy,virtualTimeS,wallS,activationsBits,featuresBits,gradientsBits,headsBits,failures';

const handRound: RoundMetrics = {
  round: 3,
  admitted: ['d1', 'd4'],
  bandwidth: { d1: 0.25, d4: 0.75 },
  failures: { d4: 'deadline missed' },
  latencyS: 1.5,
  energyJ: { d4: 0.125, d1: 0.0625 },
  queues: [0, 0.5, 0, 1.5],
  penalty: 0.75,
  bits: { activations: 1000, features: 200, gradients: 1000, heads: 50 },
  trainLoss: 1.25,
  testAccuracy: 0.5,
  virtualTimeS: 4.5,
  wallS: 0.01,
};

describe('metricsCsv', () => {
  it('writes the header and a hand-checked row', () => {
    const text = metricsCsv([handRound]);
    expect(text).toBe(`${HEADER}\n3,2,1.5,0.1875,0.5,1.5,0.75,1.25,0.5,4.5,0.01,1000,200,1000,50,1\n`);
    expect(METRICS_CSV_COLUMNS.join(',')).toBe(HEADER);
  });

  it('round-trips exactly through parseMetricsCsv, NaN loss included', () => {
    const run = syntheticRun({ policy: 'p', devices: 9, rounds: 40 });
    const rounds = run.rounds.slice();
    rounds[5] = { ...(rounds[5] as RoundMetrics), trainLoss: Number.NaN, admitted: [], energyJ: {}, bandwidth: {} };
    const rows = parseMetricsCsv(metricsCsv(rounds));
    expect(rows).toEqual(rounds.map(metricsCsvRow));
    expect(Number.isNaN(rows[5]?.trainLoss)).toBe(true);
  });

  it('reads columns by name, in any order, with CRLF line ends and extra columns', () => {
    const cols = [...METRICS_CSV_COLUMNS].reverse();
    const row = metricsCsvRow(handRound);
    const text = `extra,${cols.join(',')}\r\nx,${cols.map((c) => row[c]).join(',')}\r\n`;
    expect(parseMetricsCsv(text)).toEqual([row]);
  });

  it('names the column or line at fault', () => {
    expect(() => parseMetricsCsv('round,admitted\n1,2\n')).toThrow(new MetricsCsvError(1, 'missing column "latencyS"'));
    const bad = metricsCsv([handRound]).replace('0.1875', 'lots');
    expect(() => parseMetricsCsv(bad)).toThrow(/line 2: column "energyJ" is not a number: "lots"/);
    expect(() => parseMetricsCsv(`${HEADER}\n1,2,3\n`)).toThrow(/line 2: expected 16 cells, got 3/);
    expect(() => parseMetricsCsv('')).toThrow(MetricsCsvError);
  });
});
