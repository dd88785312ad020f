import { applyOverride, parseScenario, ScenarioError } from '../runtime/scenario';

describe('scenario validation', () => {
  it('fills the defaults of MODEL.md §8', () => {
    const s = parseScenario({});
    expect(s.devices.count).toBe(50);
    expect(s.channel.bandwidthHz).toBe(20e6);
    expect(s.training.deadlineS).toBe(2);
    expect(s.scheduler.V).toBe(10);
  });

  it('names every bad field and its rule at once', () => {
    let error: ScenarioError | undefined;
    try {
      parseScenario({ channel: { bandwidthHz: -1 }, training: { deadlineS: 0 }, data: { dirichletAlpha: 0 }, extra: true }, 'bad.json');
    } catch (e) {
      error = e as ScenarioError;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const fields = error!.problems.map((p) => p.field).sort();
    expect(fields).toEqual(['channel.bandwidthHz', 'data.dirichletAlpha', 'extra', 'training.deadlineS']);
    expect(error!.message).toContain('bad.json');
    expect(error!.problems.find((p) => p.field === 'extra')!.rule).toBe('unknown field');
  });

  it('rejects admitting more devices than exist', () => {
    expect(() => parseScenario({ devices: { count: 3 }, scheduler: { randomCount: 5 } })).toThrow(/scheduler\.randomCount/);
  });

  it('applies --set overrides as JSON values', () => {
    const s = parseScenario(applyOverride({}, 'channel.bandwidthHz=10e6'));
    expect(s.channel.bandwidthHz).toBe(10e6);
    expect(() => parseScenario(applyOverride({}, 'channel.bandwidthHz=abc'))).toThrow(/channel\.bandwidthHz/);
  });
});
