/** Named errors of the medium: each message names the problem. */

/** A scheduler decision the medium cannot carry (MODEL.md §3: Σβ ≤ 1, β ≥ 0, β = 0 outside S_t). */
export class BandwidthError extends Error {
  override readonly name = 'BandwidthError';
  constructor(
    readonly problem: string,
    readonly slot?: number,
    options?: { cause?: unknown },
  ) {
    super(slot === undefined ? problem : `slot ${slot}: ${problem}`, options);
  }
}

/** A recorded fading trace that cannot be used; names the file, the line (or JSON entry) and the problem. MODEL.md §3. */
export class TraceError extends Error {
  override readonly name = 'TraceError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${problem}`, options);
  }
}

/** A transfer the medium cannot carry (bad size, wrong direction, device without bandwidth). MODEL.md §4. */
export class TransferError extends Error {
  override readonly name = 'TransferError';
  constructor(
    readonly problem: string,
    readonly slot?: number,
    options?: { cause?: unknown },
  ) {
    super(slot === undefined ? problem : `slot ${slot}: ${problem}`, options);
  }
}

/** Parameters of the medium that break a rule (e.g. a negative bandwidth); names the field and the rule. MODEL.md §3. */
export class ChannelParamsError extends Error {
  override readonly name = 'ChannelParamsError';
  constructor(
    readonly field: string,
    readonly rule: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${rule}`, options);
  }
}
