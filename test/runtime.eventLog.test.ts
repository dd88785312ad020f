/** The event log: canonical form, hash chain, payload digests, and a reader that says where a log breaks. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  canonicalJson,
  createEventLogHeader,
  EventLogWriter,
  loadPayloadDigest,
  parseEventLog,
  payloadDigestOfVersion,
  readEventLog,
  SHA256_DIGEST,
  summarizePayload,
  truncateEventLog,
  type EventRecord,
} from '../runtime/system';

// The log's fsync, passed through and watched (the fsync test below): the writer calls the module it imported.
const mockFsyncWatch: { on?: (fd: number) => void } = {};
jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...actual,
    fsync: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => {
      mockFsyncWatch.on?.(fd);
      actual.fsync(fd, done);
    },
  };
});

// `{ n }` holds nothing to digest, so the digest (that of version 1) does not show in these records.
const rec = (seq: number, type = 'ping'): EventRecord => ({
  seq,
  slot: 0,
  t: seq * 0.5,
  kind: 'msg',
  from: 'a',
  to: 'b',
  type,
  payload: summarizePayload({ n: seq }, SHA256_DIGEST),
});

function writeLog(n: number): string {
  const w = new EventLogWriter(createEventLogHeader({ seed: 9, scenario: 'x' }), { keepLines: true });
  w.append(Array.from({ length: n }, (_, i) => rec(i)));
  return `${w.lines().join('\n')}\n`;
}

describe('event log', () => {
  it('writes canonical JSON independent of key order', () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: NaN }], u: undefined })).toBe('{"a":[true,null,{"c":"NaN","d":"x"}],"b":1}');
  });

  it.each(['sha256', 'xxh64'] as const)('summarizes payloads: sizes in bits, typed arrays and long arrays as %s digests', async (name) => {
    const digest = await loadPayloadDigest(name);
    const s = summarizePayload(
      { x: new Float32Array(16 * 32 * 128), k: 3, id: 'ab', long: Array.from({ length: 100 }, (_, i) => i) },
      digest,
    );
    expect(s.bits).toBe(16 * 32 * 128 * 32 + 64 + 16 + 100 * 64);
    expect(s.value).toMatchObject({ x: { $type: 'Float32Array', length: 65536 }, k: 3, id: 'ab', long: { $type: 'Array', length: 100 } });
    type Digested = { x: Record<string, string>; long: Record<string, string> };
    expect((s.value as Digested).x[name]).toMatch(/^[0-9a-f]{16}$/);
    expect((s.value as Digested).long[name]).toMatch(/^[0-9a-f]{16}$/);
    const other = summarizePayload({ x: Float32Array.of(1) }, digest).value as Digested;
    expect(other.x[name]).not.toBe((s.value as Digested).x[name]);
    // Only the view's bytes count, not the rest of its buffer.
    const backing = new Float32Array([9, 1, 9]);
    expect((summarizePayload({ x: backing.subarray(1, 2) }, digest).value as Digested).x[name]).toBe(other.x[name]);
  });

  it('digests with the published XXH64 values, and by the log version', async () => {
    const xxh64 = await loadPayloadDigest('xxh64');
    // Reference values of XXH64 with seed 0 (the xxHash specification's test vectors).
    expect(xxh64.hex(new Uint8Array(0))).toBe('ef46db3751d8e999');
    expect(xxh64.hex(new TextEncoder().encode('abc'))).toBe('44bc2cf5ad770999');
    expect(SHA256_DIGEST.hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea');
    expect([1, 2].map(payloadDigestOfVersion)).toEqual(['sha256', 'xxh64']);
    expect(payloadDigestOfVersion(3)).toBe('xxh64');
    expect(() => payloadDigestOfVersion(4)).toThrow('event log version 4: known versions are 1, 2, 3');
    await expect(loadPayloadDigest('md5' as never)).rejects.toThrow('unknown payload digest "md5"');
    expect(createEventLogHeader({ seed: 1 }).version).toBe(3);
    expect(createEventLogHeader({ seed: 1, version: 1 }).version).toBe(1);
    expect(() => createEventLogHeader({ seed: 1, version: 0 })).toThrow(
      'header:1: bad-version: version 0; this code writes versions 1 to 3',
    );
  });

  it('refuses to continue a log in another version than its own', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlora-log-'));
    const file = path.join(dir, 'events.jsonl');
    const v1 = createEventLogHeader({ seed: 1, version: 1 });
    const w = new EventLogWriter(v1, { path: file });
    w.append([rec(0)]);
    w.close();
    const cut = truncateEventLog(file, 1);
    expect(() => new EventLogWriter(createEventLogHeader({ seed: 1 }), { path: file, continueFrom: { hash: cut.hash } })).toThrow(
      /bad-version: the log is version 1, the writer continuing it version 3/,
    );
    const c = new EventLogWriter(cut.header, { path: file, continueFrom: { hash: cut.hash } });
    c.append([rec(1)]);
    c.close();
    expect(readEventLog(file).events).toHaveLength(2);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads back a valid log and its running hash', () => {
    const text = writeLog(5);
    const r = parseEventLog(text);
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(r.hash).toBe(r.events[4]!.hash);
  });

  it('reports a truncated last line with its line number and keeps the valid prefix', () => {
    const text = writeLog(5);
    const cut = text.slice(0, text.length - 20);
    const r = parseEventLog(cut, 'events.jsonl');
    expect(r.error?.message).toMatch(/^events\.jsonl:6: truncated/);
    expect(r.error?.line).toBe(6);
    expect(r.events).toHaveLength(4);
  });

  it('reports a broken chain where it breaks', () => {
    const lines = writeLog(5).split('\n');
    lines[3] = lines[3]!.replace('"type":"ping"', '"type":"pong"');
    const r = parseEventLog(lines.join('\n'), 'e.jsonl');
    expect(r.error).toMatchObject({ name: 'EventLogError', line: 4, problem: 'broken-chain' });
    expect(r.events).toHaveLength(2);
  });

  it('rejects another version or format on line 1', () => {
    const lines = writeLog(1).split('\n');
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    lines[0] = JSON.stringify({ ...header, version: 4 });
    expect(parseEventLog(lines.join('\n'), 'e').error?.message).toBe('e:1: bad-version: version 4; this reader knows versions 1 to 3');
    lines[0] = JSON.stringify({ ...header, version: 0 });
    expect(parseEventLog(lines.join('\n'), 'e').error?.problem).toBe('bad-version');
    expect(parseEventLog('{"format":"other"}\n', 'e').error?.problem).toBe('bad-header');
  });

  it('writes a file flushed per call, and can be cut back and continued to the same hash', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlora-log-'));
    const file = path.join(dir, 'events.jsonl');
    const header = createEventLogHeader({ seed: 1 });
    const full = new EventLogWriter(header);
    full.append([rec(0), rec(1), rec(2), rec(3)]);
    const w = new EventLogWriter(header, { path: file });
    w.append([rec(0), rec(1)]);
    w.flush();
    expect(readEventLog(file).events).toHaveLength(2); // on disk before close
    w.append([rec(2)]);
    w.close();
    fs.appendFileSync(file, '{"seq":3,"sl'); // a torn line from a killed run
    const cut = truncateEventLog(file, 2);
    expect(cut.header).toEqual(header);
    const c = new EventLogWriter(cut.header, { path: file, continueFrom: { hash: cut.hash } });
    c.append([rec(2), rec(3)]);
    c.close();
    const r = readEventLog(file);
    expect(r.error).toBeUndefined();
    expect(r.hash).toBe(full.hash);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes in the background in order, waits for it before a sync flush, and reports a failed write', async () => {
    // Prepare: a log on disk and the same events hashed in memory.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlora-log-'));
    const file = path.join(dir, 'events.jsonl');
    const header = createEventLogHeader({ seed: 1 });
    const full = new EventLogWriter(header);
    full.append(Array.from({ length: 40 }, (_, i) => rec(i)));
    const w = new EventLogWriter(header, { path: file });
    // Execute: four background writes in a row, one refused sync flush while they run.
    for (let k = 0; k < 4; k++) {
      w.append(Array.from({ length: 10 }, (_, i) => rec(10 * k + i)));
      w.flushInBackground();
    }
    expect(() => w.flush()).toThrow(/background write/);
    await w.drained();
    // Assert: every line on disk, in order, chained to the in-memory hash.
    const r = readEventLog(file);
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(r.hash).toBe(full.hash);
    w.close();
    // A write that fails (its file descriptor swapped for a read-only one) comes out of drained(), and later writes do not run.
    const broken = new EventLogWriter(header, { path: path.join(dir, 'broken.jsonl') });
    const writable = broken as unknown as { fd: number };
    fs.closeSync(writable.fd);
    writable.fd = fs.openSync(file, 'r');
    broken.append([rec(0)]);
    broken.flushInBackground();
    broken.append([rec(1)]);
    broken.flushInBackground();
    await expect(broken.drained()).rejects.toThrow(/EBADF/);
    fs.closeSync(writable.fd);
    // The same written at once (writeOut without fsync): the failed write is reported, and so is every later
    // one, by drained() and close() too, without writing the later lines (the file would have a hole).
    const syncFile = path.join(dir, 'sync.jsonl');
    const once = new EventLogWriter(header, { path: syncFile });
    const onceFd = once as unknown as { fd: number };
    const realFd = onceFd.fd;
    onceFd.fd = fs.openSync(file, 'r');
    once.append([rec(0)]);
    await expect(once.writeOut()).rejects.toThrow(/EBADF/);
    fs.closeSync(onceFd.fd);
    onceFd.fd = realFd; // writable again: still nothing more is written
    once.append([rec(1)]);
    await expect(once.writeOut()).rejects.toThrow(/EBADF/);
    await expect(once.drained()).rejects.toThrow(/EBADF/);
    once.close();
    expect(fs.readFileSync(syncFile, 'utf8').split('\n').filter(Boolean)).toHaveLength(1); // the header alone
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with fsync, syncs each background write once its bytes are written, in order, before drained() resolves', async () => {
    // Prepare: count the lines on disk at every fsync of the log's descriptor.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlora-log-'));
    const file = path.join(dir, 'events.jsonl');
    const w = new EventLogWriter(createEventLogHeader({ seed: 1 }), { path: file, fsync: true });
    const fd = (w as unknown as { fd: number }).fd;
    const linesAtSync: number[] = [];
    mockFsyncWatch.on = (descriptor) => {
      if (descriptor === fd) linesAtSync.push(fs.readFileSync(file, 'utf8').trim().split('\n').length);
    };
    try {
      // Execute: three background writes in a row.
      for (let k = 0; k < 3; k++) {
        w.append(Array.from({ length: 5 }, (_, i) => rec(5 * k + i)));
        w.flushInBackground();
      }
      await w.drained();
      // Assert: one fsync per write, each after that write's lines (the header is line 1), all before drained() resolved.
      expect(linesAtSync).toEqual([6, 11, 16]);
      expect(readEventLog(file).events).toHaveLength(15);
    } finally {
      mockFsyncWatch.on = undefined;
      w.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
