/** The models package: foundation model, split execution, aggregation, costs, data. */
export {
  initBackend,
  availableBackends,
  resolveBackend,
  BackendError,
  BACKEND_NAMES,
  type BackendName,
  type BackendChoice,
} from './backend';
export {
  backward,
  type ServerCompute,
  type ForwardItem,
  type GradientItem,
  type BackwardItem,
  type ForwardOptions,
  type EncoderCache,
} from './compute';
export { tfjsCompute } from './tfjsCompute';
export { OrtCompute } from './onnx/ortCompute';
export {
  DEFAULT_MODEL_CONFIG,
  LORA_TARGETS,
  TASKS,
  ModelConfigError,
  resolveConfig,
  frozenWeightShapes,
  loraShapes,
  headShapes,
  type LoraTarget,
  type ModelConfig,
  type ResolvedModelConfig,
  type TaskSpec,
  type TaskName,
  type PatchTaskSpec,
  type TokenTaskSpec,
} from './config';
export { CheckpointError, fileHandler, ensureFileRouter } from './checkpoint';
export {
  DEFAULT_CHECKPOINT_DIR,
  defaultCheckpointDir,
  loadFoundation,
  saveFoundation,
  createRandomFoundation,
  randomFoundationWeights,
  foundationFromWeights,
  foundationWeights,
  type Foundation,
} from './foundation';
export { ADAM, adamUpdate, initOptimizerState, type OptimizerState, type Weights } from './optimizer';
export { ShapeError, tidyData, type Cut } from './tensors';
export {
  initLora,
  initHead,
  embed,
  headStep,
  headGradients,
  unsplitGradients,
  unsplitStep,
  splitStep,
  evaluate,
  selectBatch,
  type LoraWeights,
  type HeadWeights,
  type TrainState,
} from './split';
export { KeptTensors } from './keptCache';
export { enableModelTiming, modelTiming, resetModelTiming, timeModel } from './timing';
export { AggregationError, aggregateLora, aggregateHeads, weightedMean, type LoraAggregation } from './aggregate';
export {
  COST_PROFILES,
  costs,
  moduleFlops,
  headParamCount,
  type CostProfileName,
  type CostProfileSpec,
  type Costs,
  type ModuleFlops,
} from './iterationCosts';
export { finetuneCentralised, type FinetuneOptions } from './pretrain/finetune';
export type { Dataset } from './data/dataset';
export { selectRows, sliceRows } from './data/dataset';
export { loadDigits, allDigits, pretrainImages, DigitsError, PRETRAIN_POOL, DIGIT_PIXELS } from './data/digits';
export { loadTaskData } from './data/taskData';
export { partitionDirichlet, PartitionError } from './data/partition';
export {
  loadSentiment,
  allSentences,
  pretrainSentences,
  generateSentences,
  generateWords,
  sentenceScore,
  encodeSentence,
  decodeSentence,
  SentimentDataError,
  SENTENCE_COUNT_TOTAL,
  SENTENCE_MAX_WORDS,
  SENTIMENT_PRETRAIN_POOL,
  SENTIMENT_SEQUENCE_LENGTH,
  type Sentence,
} from './data/sentiment';
export {
  sentimentVocabulary,
  afinnLexicon,
  LexiconError,
  PAD_ID,
  UNKNOWN_ID,
  MASK_ID,
  NEGATORS,
  type SentimentVocabulary,
} from './data/sentimentVocabulary';
