/** The event log: canonical form, hash chain, payload digests, and a reader that says where a log breaks. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalJson, createEventLogHeader, EventLogWriter, parseEventLog, readEventLog, summarizePayload, truncateEventLog, type EventRecord } from '../runtime/system';

const rec = (seq: number, type = 'ping'): EventRecord => ({ seq, slot: 0, t: seq * 0.5, kind: 'msg', from: 'a', to: 'b', type, payload: summarizePayload({ n: seq }) });

function writeLog(n: number): string {
  const w = new EventLogWriter(createEventLogHeader({ seed: 9, scenario: 'x' }), { keepLines: true });
  w.append(Array.from({ length: n }, (_, i) => rec(i)));
  return `${w.lines().join('\n')}\n`;
}

describe('event log', () => {
  it('writes canonical JSON independent of key order', () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: NaN }], u: undefined })).toBe('{"a":[true,null,{"c":"NaN","d":"x"}],"b":1}');
  });

  it('summarizes payloads: sizes in bits, typed arrays and long arrays as digests', () => {
    const s = summarizePayload({ x: new Float32Array(16 * 32 * 128), k: 3, id: 'ab', long: Array.from({ length: 100 }, (_, i) => i) });
    expect(s.bits).toBe(16 * 32 * 128 * 32 + 64 + 16 + 100 * 64);
    expect(s.value).toMatchObject({ x: { $type: 'Float32Array', length: 65536 }, k: 3, id: 'ab', long: { $type: 'Array', length: 100 } });
    expect((s.value as { x: { sha256: string } }).x.sha256).toMatch(/^[0-9a-f]{16}$/);
    const other = summarizePayload({ x: Float32Array.of(1) }).value as { x: { sha256: string } };
    expect(other.x.sha256).not.toBe((s.value as { x: { sha256: string } }).x.sha256);
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
    lines[0] = JSON.stringify({ ...header, version: 2 });
    expect(parseEventLog(lines.join('\n'), 'e').error?.message).toBe('e:1: bad-version: version 2; this reader knows version 1');
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
    const hash = truncateEventLog(file, 2);
    const c = new EventLogWriter(header, { path: file, continueFrom: { hash } });
    c.append([rec(2), rec(3)]);
    c.close();
    const r = readEventLog(file);
    expect(r.error).toBeUndefined();
    expect(r.hash).toBe(full.hash);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
