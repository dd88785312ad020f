/**
 * The event log (INTERFACE.md "events.jsonl"): JSON lines, a header then one event per line,
 * each carrying `hash` = sha256(previous hash + canonical JSON of the event without `hash`);
 * the chain starts from the sha256 of the header's canonical JSON. Written when a slot
 * commits and flushed then (writeSync), so a killed run keeps every slot it finished.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { canonicalJson, sha256Hex, summarizePayload } from './canonical';
import { isSummary, type LoggedPayload, type PayloadSummary } from './protocol';
import type { PayloadDigest } from './payloadDigest';
import { packageVersion } from '../util/packageInfo';

export const EVENT_LOG_FORMAT = 'airlora-events';
/**
 * 3: the built-in simulation's round runs in three passes owned by the edge server, on the live
 * medium (actors/roundMessages.ts); 2: payload digests are XXH64 (version 1: sha256; runtime/payloadDigest.ts).
 * A reader takes every version; a built-in simulation's log of an older version is replayed with
 * the release that wrote it (`EVENT_LOG_WRITERS`).
 */
export const EVENT_LOG_VERSION = 3;

/** The last release (commit) that wrote each older version of the log: replay such a log with it. */
export const EVENT_LOG_WRITERS: Readonly<Record<number, string>> = { 1: 'commit cba55eb', 2: 'commit ae6f291' };

/** What kind of thing an event records. */
export type EventKind = 'msg' | 'log' | 'failure' | 'dead-letter';

/** An event before it is chained. */
export interface EventRecord {
  readonly seq: number;
  readonly slot: number;
  /** Virtual seconds. */
  readonly t: number;
  readonly kind: EventKind;
  readonly from: string;
  readonly to: string;
  readonly type: string;
  /** Its summary, or the body the log's writer summarises (`LogDraft.add`). */
  readonly payload: LoggedPayload;
}

/** An event as written: with its payload's summary and the running hash of the log up to and including it. */
export interface LogEvent extends EventRecord {
  readonly payload: PayloadSummary;
  readonly hash: string;
}

/** The first line. Nothing in it may depend on the number of workers. */
export interface EventLogHeader {
  readonly format: typeof EVENT_LOG_FORMAT;
  readonly version: number;
  readonly scenario: unknown;
  readonly seed: number;
  readonly packageVersion: string;
  readonly backend: string;
  readonly [key: string]: unknown;
}

// the package's version is in every header; it and the package's folder are found in util/
export { packageVersion } from '../util/packageInfo';

/** Whether this code reads and writes logs of format `version`. */
export function isKnownEventLogVersion(version: unknown): version is number {
  return Number.isInteger(version) && (version as number) >= 1 && (version as number) <= EVENT_LOG_VERSION;
}

/** A header with the required fields filled in (`scenario` null, `backend` 'none' unless given; the current version unless a recorded one is given). */
export function createEventLogHeader(fields: { seed: number } & Partial<Omit<EventLogHeader, 'format'>>): EventLogHeader {
  const version = fields.version ?? EVENT_LOG_VERSION;
  if (!isKnownEventLogVersion(version))
    throw new EventLogError(
      'header',
      1,
      'bad-version',
      `version ${JSON.stringify(version)}; this code writes versions 1 to ${EVENT_LOG_VERSION}`,
    );
  return { scenario: null, packageVersion: packageVersion(), backend: 'none', ...fields, format: EVENT_LOG_FORMAT, version };
}

/** The hash an event chains to, given the previous hash: sha256(previous + canonical JSON of the record). */
export function chainHash(previous: string, record: EventRecord): string {
  return sha256Hex(previous + canonicalJson(record));
}

/** canonicalJson(record), built from the payload's canonical text (keys in sorted order). */
function canonicalRecord(r: EventRecord, payload: string): string {
  return `{"from":${JSON.stringify(r.from)},"kind":${JSON.stringify(r.kind)},"payload":${payload},"seq":${canonicalJson(r.seq)},"slot":${canonicalJson(r.slot)},"t":${canonicalJson(r.t)},"to":${JSON.stringify(r.to)},"type":${JSON.stringify(r.type)}}`;
}

/** The hash the chain starts from. */
export function headerHash(header: EventLogHeader): string {
  return sha256Hex(canonicalJson(header));
}

/** One event line: fixed field order for reading, payload in canonical form. */
export function formatEvent(e: LogEvent, payload = canonicalJson(e.payload)): string {
  return `{"seq":${canonicalJson(e.seq)},"slot":${canonicalJson(e.slot)},"t":${canonicalJson(e.t)},"kind":${JSON.stringify(e.kind)},"from":${JSON.stringify(e.from)},"to":${JSON.stringify(e.to)},"type":${JSON.stringify(e.type)},"payload":${payload},"hash":"${e.hash}"}`;
}

export interface EventLogOptions {
  /** File to write; without it the log is only hashed (and kept in memory with `keepLines`). */
  readonly path?: string;
  /** Header fields; `seed` defaults to the runtime's seed. */
  readonly header?: Partial<EventLogHeader>;
  /** Keep every line in memory (`lines()`), for tests. */
  readonly keepLines?: boolean;
  /** fsync at every flush, not only write (survives a machine crash, not just a killed process). */
  readonly fsync?: boolean;
  /** Continue a log: append to `path` without a header, chaining from `hash` (see `truncateEventLog`); give its `header` too, for its version. */
  readonly continueFrom?: { readonly hash: string };
}

/**
 * A log is continued in its own version: the version decides how payloads are digested, so a
 * writer of another version would append events its readers cannot check. Reads line 1 only.
 */
function checkContinuedVersion(file: string, version: number): void {
  const fd = fs.openSync(file, 'r');
  const chunks: Buffer[] = [];
  try {
    for (let pos = 0; ;) {
      const buf = Buffer.alloc(64 * 1024);
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      const newline = buf.subarray(0, n).indexOf(10);
      chunks.push(buf.subarray(0, newline >= 0 ? newline : n));
      if (newline >= 0 || n === 0) break;
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  let onDisk: unknown;
  try {
    onDisk = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: unknown }).version;
  } catch {
    throw new EventLogError(file, 1, 'bad-header', 'cannot continue a log whose header is not JSON');
  }
  if (onDisk !== version)
    throw new EventLogError(
      file,
      1,
      'bad-version',
      `the log is version ${JSON.stringify(onDisk)}, the writer continuing it version ${version}: give the writer the log's header (truncateEventLog returns it)`,
    );
}

/** Writes all of `bytes` at the file's end (a write may take part of them). */
function writeAll(fd: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number): void =>
      fs.write(fd, bytes, offset, bytes.length - offset, null, (err, n) => {
        if (err) reject(err);
        else if (offset + n < bytes.length) from(offset + n);
        else resolve();
      });
    from(0);
  });
}

/** A draft committed to a log it does not follow (a misuse of the writer, not a bad log). */
export class LogDraftError extends Error {
  override readonly name = 'LogDraftError';
}

/** Events chained from `base`, formatted, waiting to be committed to an EventLogWriter. */
export class LogDraft {
  private readonly chained: LogEvent[] = [];
  /** The lines as UTF-8, each one ending in a newline, one buffer per `add`: encoded while the workers compute, not when the slot is written. */
  private readonly encoded: Buffer[] = [];
  private last: string;

  constructor(
    readonly base: string,
    /** Summarises the payloads that records left to the writer (`PayloadToSummarize`): the log's digest. */
    private readonly digest?: PayloadDigest,
  ) {
    this.last = base;
  }

  /** The running hash after the events added so far. */
  get hash(): string {
    return this.last;
  }

  /** The log lines of the events added so far (decoded again: only a writer that keeps its lines asks). */
  get lines(): readonly string[] {
    return this.encoded.flatMap((b) => b.toString('utf8').slice(0, -1).split('\n'));
  }

  /** The events added so far, with their hashes. */
  get events(): readonly LogEvent[] {
    return this.chained;
  }

  /** The lines added so far as the log file's bytes. */
  get bytes(): readonly Buffer[] {
    return this.encoded;
  }

  private summary(payload: LoggedPayload): PayloadSummary {
    if (isSummary(payload)) return payload;
    if (!this.digest)
      throw new LogDraftError("a record leaves its payload's summary to the log's writer, and this draft has no payload digest");
    return summarizePayload(payload.body, this.digest);
  }

  /** Formats and chains `records` (in order) after what was added before. */
  add(records: readonly EventRecord[]): void {
    if (records.length === 0) return;
    const lines: string[] = [];
    for (const r of records) {
      const summary = this.summary(r.payload);
      const payload = canonicalJson(summary);
      this.last = sha256Hex(this.last + canonicalRecord(r, payload));
      const e: LogEvent = { ...r, payload: summary, hash: this.last };
      lines.push(formatEvent(e, payload));
      this.chained.push(e);
    }
    this.encoded.push(Buffer.from(`${lines.join('\n')}\n`));
  }
}

/** Writes an event log. */
export class EventLogWriter {
  private fd: number | undefined;
  /** Appended lines not yet written, as the file's bytes. */
  private pending: Buffer[] = [];
  private readonly kept: string[] | undefined;
  private last: string;
  /** The first write that failed (`fail`). */
  private failed: { error: unknown } | undefined;
  private written = 0;
  /** Background writes (`flushInBackground`), chained in order, and how many are under way. */
  private writing: Promise<void> = Promise.resolve();
  private writes = 0;
  readonly header: EventLogHeader;

  constructor(
    header: EventLogHeader,
    private readonly options: Omit<EventLogOptions, 'header'> = {},
  ) {
    this.header = header;
    this.kept = options.keepLines ? [] : undefined;
    if (options.continueFrom) {
      this.last = options.continueFrom.hash;
      if (options.path) {
        checkContinuedVersion(options.path, header.version);
        this.fd = fs.openSync(options.path, 'a');
      }
    } else {
      this.last = headerHash(header);
      const line = canonicalJson(header);
      this.kept?.push(line);
      if (options.path) {
        fs.mkdirSync(path.dirname(options.path), { recursive: true });
        this.fd = fs.openSync(options.path, 'w');
        fs.writeSync(this.fd, `${line}\n`);
      }
    }
  }

  /** The running hash: of the last event appended, or of the header. */
  get hash(): string {
    return this.last;
  }

  /** Events appended so far. */
  get count(): number {
    return this.written;
  }

  /** Chains and buffers events (in order); returns them with their hashes. */
  append(records: readonly EventRecord[]): LogEvent[] {
    const draft = this.draft();
    draft.add(records);
    return this.commit(draft);
  }

  /**
   * Events formatted and chained after the log's last hash, but not yet in it: the runtime drafts
   * a slot's events while the workers run its next step, and commits them once the slot is
   * durable (or drops the draft if the slot runs again). `digest` (the log's payload digest)
   * summarises the payloads that records leave to the writer.
   */
  draft(digest?: PayloadDigest): LogDraft {
    return new LogDraft(this.last, digest);
  }

  /** Appends a draft begun at the current hash; returns its events. */
  commit(draft: LogDraft): LogEvent[] {
    if (draft.base !== this.last) throw new LogDraftError('the draft does not follow the log (another append came between)');
    for (const bytes of draft.bytes) this.pending.push(bytes);
    if (this.kept) for (const line of draft.lines) this.kept.push(line);
    this.last = draft.hash;
    this.written += draft.events.length;
    return [...draft.events];
  }

  /** Writes what was appended (and fsyncs if asked). */
  flush(): void {
    if (this.writes > 0) throw new Error('EventLogWriter: flush() while a background write is under way (await drained() first)');
    if (this.failed) throw this.failed.error;
    const bytes = this.pending;
    this.pending = [];
    if (this.fd === undefined || bytes.length === 0) return;
    try {
      const all = Buffer.concat(bytes);
      for (let at = 0; at < all.length;) at += fs.writeSync(this.fd, all, at, all.length - at); // a write may take part of them
      if (this.options.fsync) fs.fsyncSync(this.fd);
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  /** A write failed: nothing is written after it (the log would have a hole its chain covers), and every later write, drained() and close() report it. */
  private fail(error: unknown): void {
    this.failed ??= { error };
    this.writing = Promise.reject(this.failed.error);
    this.writing.catch(() => undefined); // handled where it is awaited: drained()
  }

  /**
   * Writes what was appended in the background, after the writes begun before (the runtime's hosts
   * commit meanwhile); `drained()` resolves when all are on disk, or rejects with the first write's error.
   */
  flushInBackground(): void {
    const fd = this.fd;
    if (fd === undefined || this.pending.length === 0) {
      this.pending = [];
      return;
    }
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    const fsync = this.options.fsync === true;
    this.writes++;
    this.writing = this.writing
      .then(() => writeAll(fd, bytes))
      .then(() => (fsync ? new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve()))) : undefined))
      .catch((error: unknown) => {
        this.failed ??= { error };
        throw error;
      })
      .finally(() => this.writes--);
    this.writing.catch(() => undefined); // handled where it is awaited: drained()
  }

  /**
   * Writes what was appended and resolves once it is on disk: at once, since a write to the page
   * cache costs less than waking up for the end of a background one (a round trip through the thread
   * pool); in the background when every write is fsynced, which takes longer than the caller's
   * other work.
   */
  writeOut(): Promise<void> {
    if (this.options.fsync) {
      this.flushInBackground();
      return this.drained();
    }
    return this.drained().then(() => this.flush());
  }

  /** Resolves when every background write is on disk (rejects with the first one's error). */
  drained(): Promise<void> {
    return this.writing;
  }

  /** Every line so far, header first (only with `keepLines`). */
  lines(): readonly string[] {
    if (!this.kept) throw new Error('EventLogWriter: lines() needs keepLines: true');
    return this.kept;
  }

  close(): void {
    try {
      if (!this.failed) this.flush(); // after a failed write, nothing more (drained() has reported it)
    } finally {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** Why a log is not valid past some line. */
export type EventLogProblem = 'truncated' | 'bad-json' | 'bad-header' | 'bad-version' | 'bad-event' | 'bad-seq' | 'broken-chain';

/** A log that is invalid from `line` (1-based) on; the reader still returns the valid prefix. */
export class EventLogError extends Error {
  override readonly name = 'EventLogError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: EventLogProblem,
    detail: string,
  ) {
    super(`${source}:${line}: ${problem}: ${detail}`);
  }
}

export interface EventLogContents {
  readonly header: EventLogHeader | undefined;
  /** The valid prefix. */
  readonly events: LogEvent[];
  /** The running hash at the end of the valid prefix. */
  readonly hash: string | undefined;
  /** Set when the log is invalid past the prefix. */
  readonly error?: EventLogError;
}

/** Parses and checks a log's text: header, format and version, JSON of every line, seq order and the hash chain. */
export function parseEventLog(text: string, source = '<events>'): EventLogContents {
  const lines = text.split('\n');
  const endsClean = text.endsWith('\n');
  if (endsClean) lines.pop();
  const events: LogEvent[] = [];
  const fail = (line: number, problem: EventLogProblem, detail: string, header?: EventLogHeader, hash?: string): EventLogContents => ({
    header,
    events,
    hash,
    error: new EventLogError(source, line, problem, detail),
  });
  if (lines.length === 0 || lines[0] === '') return fail(1, 'bad-header', 'empty log');
  let header: EventLogHeader;
  try {
    header = JSON.parse(lines[0]!) as EventLogHeader;
  } catch {
    return fail(1, lines.length === 1 && !endsClean ? 'truncated' : 'bad-header', 'the header is not JSON');
  }
  if (!header || header.format !== EVENT_LOG_FORMAT)
    return fail(1, 'bad-header', `not an ${EVENT_LOG_FORMAT} log (format: ${JSON.stringify(header?.format)})`);
  if (!isKnownEventLogVersion(header.version))
    return fail(
      1,
      'bad-version',
      `version ${JSON.stringify(header.version)}; this reader knows versions 1 to ${EVENT_LOG_VERSION}`,
      header,
    );
  let hash = headerHash(header);
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const last = i === lines.length - 1;
    let e: LogEvent;
    try {
      e = JSON.parse(lines[i]!) as LogEvent;
    } catch {
      if (last && !endsClean)
        return fail(lineNo, 'truncated', 'the last line is incomplete (the run was killed while writing?)', header, hash);
      return fail(lineNo, 'bad-json', 'not JSON', header, hash);
    }
    if (!e || typeof e !== 'object' || typeof e.hash !== 'string' || typeof e.seq !== 'number')
      return fail(lineNo, 'bad-event', 'an event needs a numeric seq and a string hash', header, hash);
    const expectedSeq = events.length === 0 ? e.seq : events[events.length - 1]!.seq + 1;
    if (e.seq !== expectedSeq || (events.length === 0 && e.seq < 0))
      return fail(lineNo, 'bad-seq', `seq ${e.seq}, expected ${expectedSeq}`, header, hash);
    const { hash: found, ...record } = e;
    const want = chainHash(hash, record as EventRecord);
    if (want !== found)
      return fail(
        lineNo,
        'broken-chain',
        `hash ${found.slice(0, 16)}… does not chain from the line before (expected ${want.slice(0, 16)}…)`,
        header,
        hash,
      );
    hash = want;
    events.push(e);
  }
  return { header, events, hash };
}

/** Reads and checks an event log file (see `parseEventLog`). */
export function readEventLog(file: string): EventLogContents {
  return parseEventLog(fs.readFileSync(file, 'utf8'), file);
}

/**
 * Cuts a log back to the events with seq < `nextSeq` (what a checkpoint taken then had seen),
 * dropping any torn line; returns the hash to continue from (`EventLogOptions.continueFrom`) and the header.
 */
export function truncateEventLog(file: string, nextSeq: number): { hash: string; header: EventLogHeader } {
  const text = fs.readFileSync(file, 'utf8');
  const { header, events, hash } = parseEventLog(text, file);
  if (!header || hash === undefined) throw new EventLogError(file, 1, 'bad-header', 'cannot continue a log without a valid header');
  const keep = events.filter((e) => e.seq < nextSeq);
  const lastSeq = events.length > 0 ? events[events.length - 1]!.seq : -1;
  if (lastSeq < nextSeq - 1)
    throw new EventLogError(file, events.length + 1, 'bad-seq', `the valid log ends at seq ${lastSeq}, before seq ${nextSeq - 1}`);
  const lines = [canonicalJson(header), ...keep.map((e) => formatEvent(e))];
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return { hash: keep.length > 0 ? keep[keep.length - 1]!.hash : headerHash(header), header };
}
