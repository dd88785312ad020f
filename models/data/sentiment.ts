/**
 * Fine-tuning task 2 (MODEL.md §1): binary sentiment of short generated review sentences
 * such as "the plot was not very good but the music was great". Words and scores come from the
 * AFINN lexicon of the `sentiment` package (sentimentVocabulary.ts). The label is the sign of the
 * sentence's total AFINN score after negation ("not", "never", "no" flip the next sentiment word
 * when at most one word lies between them); sentences that score 0 are dropped. 1 = positive.
 *
 * Context matters: a third of the clauses are negated, so a bag of words that ignores negation
 * gets about a third of the one-clause sentences wrong (summing AFINN scores without negation
 * agrees with the label on 60% of the corpus, 65% if its ties count as coin flips).
 * Word choice follows a latent mood per sentence (each clause agrees with it with probability
 * 0.85), as words in real reviews do.
 *
 * One fixed corpus of SENTENCE_COUNT_TOTAL distinct sentences in a fixed order (a fixed seed, no
 * duplicate sentence anywhere), like the digits: the test split is its tail, the train split its
 * head, and pre-training reads only the token ids of positions [0, SENTIMENT_PRETRAIN_POOL), so a
 * test split of up to 4,000 sentences is never seen by the foundation model.
 */
import { RandomStream } from '../../util/random';
import type { Dataset } from './dataset';
import {
  CONJUNCTIONS,
  COPULAS,
  DETERMINERS,
  MODIFIERS,
  NEGATORS,
  NOUNS,
  OPENERS,
  PAD_ID,
  UNKNOWN_ID,
  sentimentVocabulary,
} from './sentimentVocabulary';

export const SENTENCE_COUNT_TOTAL = 20000;
/** Positions [0, SENTIMENT_PRETRAIN_POOL) of the fixed order may be used (unlabelled) for pre-training. */
export const SENTIMENT_PRETRAIN_POOL = 16000;
/** The longest sentence the grammar makes: opener, two clauses of six words, a conjunction. */
export const SENTENCE_MAX_WORDS = 14;
/** Default sequence length: one position per word, padded at the end. */
export const SENTIMENT_SEQUENCE_LENGTH = 14;
export const SENTIMENT_CLASSES = 2;
const CORPUS_SEED = 0x73656e74; // 'sent'

/** Probability that a clause's polarity agrees with the sentence's mood. */
const MOOD_AGREEMENT = 0.85;
const NEGATION_PROBABILITY = 0.35;
const MODIFIER_PROBABILITY = 0.4;
const SECOND_CLAUSE_PROBABILITY = 0.7;
const OPENER_PROBABILITY = 0.2;
/** A negator flips a sentiment word at most this many positions after it ("not very good"). */
const NEGATION_REACH = 2;

/** Thrown for a split the corpus cannot supply or a sentence that does not fit. */
export class SentimentDataError extends Error {
  override readonly name = 'SentimentDataError';
}

export interface Sentence {
  readonly words: readonly string[];
  /** Total AFINN score after negation. */
  readonly score: number;
  /** 1 positive, 0 negative. */
  readonly label: number;
}

/** Total AFINN score of `words` after negation; words outside the vocabulary's sentiment words score 0. */
export function sentenceScore(words: readonly string[]): number {
  const { scores } = sentimentVocabulary();
  let total = 0;
  let negatedThrough = -1;
  words.forEach((w, i) => {
    if (NEGATORS.includes(w)) {
      negatedThrough = i + NEGATION_REACH;
      return;
    }
    const s = scores.get(w);
    if (s === undefined) return;
    total += i <= negatedThrough ? -s : s;
    negatedThrough = -1;
  });
  return total;
}

function pick<T>(random: RandomStream, items: readonly T[]): T {
  return items[random.int(items.length)] as T;
}

/** One sentence of the grammar: [opener] clause [conjunction clause]; clause = determiner noun copula [negator] [modifier] word. */
export function generateWords(random: RandomStream): string[] {
  const vocab = sentimentVocabulary();
  const mood = random.uniform() < 0.5 ? 1 : -1;
  const words: string[] = [];
  if (random.uniform() < OPENER_PROBABILITY) words.push(pick(random, OPENERS));
  const clauses = random.uniform() < SECOND_CLAUSE_PROBABILITY ? 2 : 1;
  for (let k = 0; k < clauses; k++) {
    if (k > 0) words.push(pick(random, CONJUNCTIONS));
    const polarity = random.uniform() < MOOD_AGREEMENT ? mood : -mood;
    const negated = random.uniform() < NEGATION_PROBABILITY;
    words.push(pick(random, DETERMINERS), pick(random, NOUNS), pick(random, COPULAS));
    if (negated) words.push(pick(random, NEGATORS));
    if (random.uniform() < MODIFIER_PROBABILITY) words.push(pick(random, MODIFIERS));
    // The clause means `polarity`; a negated clause says it with a word of the other sign.
    words.push(pick(random, polarity * (negated ? -1 : 1) > 0 ? vocab.positiveWords : vocab.negativeWords));
  }
  return words;
}

/** `count` distinct sentences with a nonzero score, drawn from `random` (deterministic for its seed). */
export function generateSentences(count: number, random: RandomStream): Sentence[] {
  const seen = new Set<string>();
  const out: Sentence[] = [];
  while (out.length < count) {
    const words = generateWords(random);
    const key = words.join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    const score = sentenceScore(words);
    if (score === 0) continue; // a tie has no sign: dropped
    out.push({ words, score, label: score > 0 ? 1 : 0 });
  }
  return out;
}

/** Token ids of `words`, padded with [PAD] to `sequenceLength` (unknown words → [UNK]). */
export function encodeSentence(words: readonly string[], sequenceLength: number): Int32Array {
  if (words.length > sequenceLength)
    throw new SentimentDataError(`a sentence of ${words.length} words does not fit a sequence length of ${sequenceLength}`);
  const { ids } = sentimentVocabulary();
  const out = new Int32Array(sequenceLength).fill(PAD_ID);
  words.forEach((w, i) => (out[i] = ids.get(w) ?? UNKNOWN_ID));
  return out;
}

/** The words of a row of token ids (padding dropped). */
export function decodeSentence(row: ArrayLike<number>): string[] {
  const { tokens } = sentimentVocabulary();
  const out: string[] = [];
  for (let i = 0; i < row.length; i++) if (row[i] !== PAD_ID) out.push(tokens[row[i] as number] ?? '[UNK]');
  return out;
}

let corpus: Sentence[] | undefined;

/** The fixed corpus of SENTENCE_COUNT_TOTAL sentences in its fixed order (generated once per thread, about 50 ms). */
export function allSentences(): readonly Sentence[] {
  corpus ??= generateSentences(SENTENCE_COUNT_TOTAL, RandomStream.fromSeed(CORPUS_SEED, 'sentiment-corpus'));
  return corpus;
}

function toDataset(sentences: readonly Sentence[], sequenceLength: number): Dataset {
  const features = new Float32Array(sentences.length * sequenceLength);
  const labels = new Int32Array(sentences.length);
  sentences.forEach((s, row) => {
    features.set(encodeSentence(s.words, sequenceLength), row * sequenceLength);
    labels[row] = s.label;
  });
  return { task: 'sentiment', features, labels, count: sentences.length, featureSize: sequenceLength, classCount: SENTIMENT_CLASSES };
}

/** Deterministic train and held-out test splits: train = the first `trainCount` sentences of the fixed order, test = the last `testCount`. */
export function loadSentiment(
  trainCount: number,
  testCount: number,
  sequenceLength = SENTIMENT_SEQUENCE_LENGTH,
): { train: Dataset; test: Dataset } {
  if (!Number.isInteger(trainCount) || trainCount < 1)
    throw new SentimentDataError(`trainCount must be a positive integer, got ${trainCount}`);
  if (!Number.isInteger(testCount) || testCount < 1) throw new SentimentDataError(`testCount must be a positive integer, got ${testCount}`);
  if (trainCount + testCount > SENTENCE_COUNT_TOTAL)
    throw new SentimentDataError(`trainCount + testCount must be at most ${SENTENCE_COUNT_TOTAL}, got ${trainCount} + ${testCount}`);
  const all = allSentences();
  return { train: toDataset(all.slice(0, trainCount), sequenceLength), test: toDataset(all.slice(all.length - testCount), sequenceLength) };
}

/** Token ids of the pre-training pool, `count` rows of `sequenceLength` (no labels). */
export function pretrainSentences(count = SENTIMENT_PRETRAIN_POOL, sequenceLength = SENTIMENT_SEQUENCE_LENGTH): Float32Array {
  return toDataset(allSentences().slice(0, Math.min(count, SENTIMENT_PRETRAIN_POOL)), sequenceLength).features;
}
