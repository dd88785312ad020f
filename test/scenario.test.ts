import { applyOverride, parseScenario, ScenarioError } from '../app/scenario';

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

  it("keeps the data within the task's corpus, and the test split out of the pre-training pool", () => {
    const problems = (input: unknown) => {
      try {
        parseScenario(input, 's.json');
        return [];
      } catch (e) {
        return (e as ScenarioError).problems.map((p) => `${p.field}: ${p.rule}`);
      }
    };
    expect(problems({ data: { trainSamples: 9500, testSamples: 1000 } })).toEqual([
      "data.trainSamples: plus data.testSamples (1000) must be at most 10000, the size of model.task 'digits''s corpus",
    ]);
    expect(problems({ data: { trainSamples: 1000, testSamples: 3000 } })).toEqual([
      "data.testSamples: must be at most 2000 for model.task 'digits': the test split is the corpus's tail, and the committed foundation model was pre-trained on its first 8000 samples",
    ]);
    // A checkpoint of the user's own was not pre-trained on our pool; the sentiment corpus is larger.
    expect(problems({ model: { checkpoint: '/my/encoder' }, data: { trainSamples: 1000, testSamples: 3000 } })).toEqual([]);
    expect(problems({ model: { task: 'sentiment' }, data: { trainSamples: 15000, testSamples: 4000 } })).toEqual([]);
    expect(problems({ model: { task: 'sentiment' }, data: { trainSamples: 15000, testSamples: 5000 } })).toHaveLength(1);
  });

  it('applies --set overrides as JSON values', () => {
    const s = parseScenario(applyOverride({}, 'channel.bandwidthHz=10e6'));
    expect(s.channel.bandwidthHz).toBe(10e6);
    expect(() => parseScenario(applyOverride({}, 'channel.bandwidthHz=abc'))).toThrow(/channel\.bandwidthHz/);
  });

  it('takes runtime.backend: auto by default, a backend by name, anything else named as the problem', () => {
    expect(parseScenario({}).runtime.backend).toBe('auto');
    expect(parseScenario(applyOverride({}, 'runtime.backend=wasm')).runtime.backend).toBe('wasm');
    expect(parseScenario(applyOverride({}, 'runtime.backend=onnxruntime')).runtime.backend).toBe('onnxruntime');
    expect(() => parseScenario(applyOverride({}, 'runtime.backend=gpu'))).toThrow(/runtime\.backend/);
  });
});
