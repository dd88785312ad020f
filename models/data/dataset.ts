/**
 * The shape every fine-tuning and pre-training data set takes (MODEL.md §1: local data sets D_k
 * and a held-out test set). Samples are rows of a flat Float32Array; labels are class indices.
 */
export interface Dataset {
  /** Task name, e.g. 'digits' or 'sentiment'. */
  readonly task: string;
  /** Row-major samples, `count * featureSize` values. */
  readonly features: Float32Array;
  /** Class index of each sample. */
  readonly labels: Int32Array;
  readonly count: number;
  /** Values per sample (784 for a 28x28 digit; sequence length for token ids). */
  readonly featureSize: number;
  readonly classCount: number;
}

/** Rows `indices` of `data`, as a new Dataset. */
export function selectRows(data: Dataset, indices: readonly number[]): Dataset {
  const features = new Float32Array(indices.length * data.featureSize);
  const labels = new Int32Array(indices.length);
  indices.forEach((row, i) => {
    features.set(data.features.subarray(row * data.featureSize, (row + 1) * data.featureSize), i * data.featureSize);
    labels[i] = data.labels[row] as number;
  });
  return { task: data.task, features, labels, count: indices.length, featureSize: data.featureSize, classCount: data.classCount };
}

/** Rows [from, to) of `data` as a Dataset of views on its arrays: a contiguous slice needs no copy (read it, never write it). */
export function sliceRows(data: Dataset, from: number, to: number): Dataset {
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= data.count))
    throw new RangeError(`sliceRows: rows [${from}, ${to}) are not within the ${data.count} rows of the data set`);
  const size = data.featureSize;
  return {
    task: data.task,
    features: data.features.subarray(from * size, to * size),
    labels: data.labels.subarray(from, to),
    count: to - from,
    featureSize: size,
    classCount: data.classCount,
  };
}
