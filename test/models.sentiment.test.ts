/** Fine-tuning task 2: the sentence generator, its labels, splits, vocabulary, layout and costs. */
import {
  DEFAULT_MODEL_CONFIG,
  ModelConfigError,
  SENTENCE_COUNT_TOTAL,
  SENTIMENT_PRETRAIN_POOL,
  SentimentDataError,
  afinnLexicon,
  costs,
  decodeSentence,
  encodeSentence,
  frozenWeightShapes,
  generateSentences,
  headParamCount,
  loadSentiment,
  partitionDirichlet,
  pretrainSentences,
  resolveConfig,
  sentenceScore,
  sentimentVocabulary,
  type ModelConfig,
} from '../models';
import { RandomStream } from '../util/random';

const SENTIMENT: ModelConfig = { ...DEFAULT_MODEL_CONFIG, task: 'sentiment' };
const words = (s: string): string[] => s.split(' ');

describe('the sentiment labels', () => {
  it('are the sign of the AFINN total, with a negator flipping the next sentiment word (hand-worked)', () => {
    // Scores read from the package: good +3, great +3, bad −3, boring −3, outstanding +5.
    const lexicon = afinnLexicon();
    expect([lexicon['good'], lexicon['great'], lexicon['bad'], lexicon['boring'], lexicon['outstanding']]).toEqual([3, 3, -3, -3, 5]);
    expect(sentenceScore(words('the movie was good'))).toBe(3);
    expect(sentenceScore(words('the movie was not good'))).toBe(-3);
    expect(sentenceScore(words('the movie was not very good'))).toBe(-3); // one word between: still negated
    expect(sentenceScore(words('the plot was never boring'))).toBe(3);
    expect(sentenceScore(words('the food was no fun'))).toBe(-4);
    expect(sentenceScore(words('the film was great but the ending was not outstanding'))).toBe(3 - 5);
    expect(sentenceScore(words('not the movie was very very good'))).toBe(3); // too far from the negator
    expect(sentenceScore(words('the movie was not good and the music was good'))).toBe(0); // a tie: such sentences are dropped
  });

  it('hold for every generated sentence, none of them a tie', () => {
    const sentences = generateSentences(2000, RandomStream.fromSeed(3, 'labels'));
    for (const s of sentences) {
      expect(s.score).toBe(sentenceScore(s.words));
      expect(s.score).not.toBe(0);
      expect(s.label).toBe(s.score > 0 ? 1 : 0);
    }
    // Both classes, and negation in play: a sizeable share of sentences hold a negator.
    const positive = sentences.filter((s) => s.label === 1).length;
    expect(positive / sentences.length).toBeGreaterThan(0.4);
    expect(positive / sentences.length).toBeLessThan(0.6);
    const negated = sentences.filter((s) => s.words.some((w) => w === 'not' || w === 'never' || w === 'no')).length;
    expect(negated / sentences.length).toBeGreaterThan(0.3);
  });
});

describe('the sentence generator', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateSentences(300, RandomStream.fromSeed(5, 'gen'));
    const b = generateSentences(300, RandomStream.fromSeed(5, 'gen'));
    const c = generateSentences(300, RandomStream.fromSeed(6, 'gen'));
    expect(b).toEqual(a);
    expect(c.map((s) => s.words.join(' '))).not.toEqual(a.map((s) => s.words.join(' ')));
  });

  it('gives fixed train and test splits that never overlap, as token ids of the fixed vocabulary', () => {
    const one = loadSentiment(8000, 1000);
    const two = loadSentiment(8000, 1000);
    expect(one.train.count).toBe(8000);
    expect(one.test.count).toBe(1000);
    expect(one.train.featureSize).toBe(14);
    expect(one.train.classCount).toBe(2);
    expect(Buffer.from(two.test.features.buffer).equals(Buffer.from(one.test.features.buffer))).toBe(true);
    // A smaller train split is a prefix of the larger one; the test split never moves.
    const small = loadSentiment(100, 1000);
    expect(Array.from(small.train.labels)).toEqual(Array.from(one.train.labels.slice(0, 100)));
    expect(Array.from(small.test.features)).toEqual(Array.from(one.test.features));
    // No test sentence appears in the train split or in the pre-training pool.
    const rows = (f: Float32Array) =>
      Array.from({ length: f.length / 14 }, (_, i) => decodeSentence(f.subarray(i * 14, (i + 1) * 14)).join(' '));
    const seen = new Set([...rows(loadSentiment(SENTENCE_COUNT_TOTAL - 4000, 4000).train.features)]);
    for (const s of rows(loadSentiment(1, 4000).test.features)) expect(seen.has(s)).toBe(false);
    expect(pretrainSentences().length).toBe(SENTIMENT_PRETRAIN_POOL * 14);
    // Ids are integers of the vocabulary; a sentence round-trips through its ids.
    const vocab = sentimentVocabulary();
    for (const id of one.train.features.subarray(0, 14 * 200)) expect(Number.isInteger(id) && id >= 0 && id < vocab.size).toBe(true);
    expect(decodeSentence(encodeSentence(words('the movie was not good'), 14))).toEqual(words('the movie was not good'));
  });

  it('works with the Dirichlet partition unchanged', () => {
    const { train } = loadSentiment(1200, 300);
    const shards = partitionDirichlet(train.labels, 6, 0.5, 0, RandomStream.fromSeed(1, 'partition'));
    expect(shards.flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
  });

  it('refuses more sentences than the corpus holds', () => {
    expect(() => loadSentiment(19500, 1000)).toThrow(SentimentDataError);
    expect(() => loadSentiment(19500, 1000)).toThrow(`trainCount + testCount must be at most ${SENTENCE_COUNT_TOTAL}, got 19500 + 1000`);
  });
});

describe('the text model layout', () => {
  it('is a token table, CLS and positions; the digits layout is unchanged', () => {
    const c = resolveConfig(SENTIMENT);
    const vocab = sentimentVocabulary().size;
    expect(c.task).toMatchObject({ kind: 'tokens', name: 'sentiment', vocabSize: vocab, sequenceLength: 14 });
    expect(c.tokens).toBe(15);
    const shapes = frozenWeightShapes(c);
    expect(Object.keys(shapes).filter((n) => n.startsWith('embed/'))).toEqual(['embed/token', 'embed/cls', 'embed/position']);
    expect(shapes['embed/token']).toEqual([vocab, 128]);
    expect(shapes['embed/position']).toEqual([15, 128]);
    const digits = frozenWeightShapes(resolveConfig(DEFAULT_MODEL_CONFIG));
    expect(Object.entries(digits).filter(([n]) => n.startsWith('embed/'))).toEqual([
      ['embed/patch/kernel', [49, 128]],
      ['embed/patch/bias', [128]],
      ['embed/cls', [1, 128]],
      ['embed/position', [17, 128]],
    ]);
    expect(resolveConfig({ ...SENTIMENT, sequenceLength: 20 }).tokens).toBe(21);
  });

  it('rejects a malformed text configuration with a ModelConfigError naming the field and the rule', () => {
    expect(() => resolveConfig({ ...SENTIMENT, sequenceLength: 0 })).toThrow(ModelConfigError);
    expect(() => resolveConfig({ ...SENTIMENT, sequenceLength: 0 })).toThrow('model.sequenceLength: must be a positive integer, got 0');
    expect(() => resolveConfig({ ...SENTIMENT, sequenceLength: 10 })).toThrow(
      'model.sequenceLength: must be at least 14 (the longest generated sentence), got 10',
    );
    expect(() => resolveConfig({ ...DEFAULT_MODEL_CONFIG, sequenceLength: 14 })).toThrow(
      /^model\.sequenceLength: applies to token tasks only/,
    );
    expect(() => resolveConfig({ ...SENTIMENT, task: 'poetry' as 'digits' })).toThrow(
      "model.task: must be 'digits' or 'sentiment', got 'poetry'",
    );
  });

  it('charges the payloads and FLOPs of its own shapes (b 16, 15 tokens, d 128, q 32, 2 classes)', () => {
    const c = costs(SENTIMENT, 'actual', 16, 32);
    expect(c.tokens).toBe(15);
    expect(c.activationsBits).toBe(16 * 15 * 128 * 32);
    expect(c.featuresBits).toBe(16 * 15 * 128 * 32);
    expect(c.headParams).toBe(headParamCount(128, 2));
    expect(c.headBits).toBe((2 * 128 + 128 * 2 + 2) * 32);
    // A table lookup has no arithmetic: only the position adds.
    expect(c.flops.embedForward).toBe(15 * 128);
    const digits = costs(DEFAULT_MODEL_CONFIG, 'actual', 16, 32);
    expect(c.flops.encoderForward).toBeLessThan(digits.flops.encoderForward); // 15 tokens against 17
  });
});
