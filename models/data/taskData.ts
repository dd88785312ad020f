/** A task's train and test splits (MODEL.md §1): the digits for image patches, the generated sentences for tokens. */
import type { TaskSpec } from '../config';
import type { Dataset } from './dataset';
import { loadDigits } from './digits';
import { loadSentiment } from './sentiment';

export function loadTaskData(task: TaskSpec, trainCount: number, testCount: number): { train: Dataset; test: Dataset } {
  return task.kind === 'tokens' ? loadSentiment(trainCount, testCount, task.sequenceLength) : loadDigits(trainCount, testCount);
}
