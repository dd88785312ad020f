/**
 * Recorded gain traces (MODEL.md §3: "a recorded trace can replace the model"). A trace lists
 * (device, slot, gain) triples, gain being the linear channel gain g_k^t with path loss, shadowing
 * and fading included. CSV (a header `device,slot,gain` in any column order, or no header and that
 * order; blank lines and `#` comments skipped) or JSON (an array of {device, slot, gain} objects or
 * of [device, slot, gain] triples). Devices are indices (`3`) or ids (`d3`). Every device 0..K−1
 * must have every slot 0..T−1, once.
 */
import { readFileSync } from 'node:fs';
import { TraceError } from './errors';

/** A validated trace: `gains[k][t]` is g_k^t. */
export interface GainTrace {
  readonly file: string;
  readonly deviceCount: number;
  readonly slotCount: number;
  readonly gains: readonly (readonly number[])[];
}

interface Row {
  readonly device: number;
  readonly slot: number;
  readonly gain: number;
  /** 1-based line (CSV) or 0-based entry (JSON) where the row came from. */
  readonly where: number;
}

const INDEX = /^\s*d?(\d+)\s*$/;

function parseIndex(value: unknown, what: string, file: string, line: number | undefined, where: string): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined;
  const match = text === undefined ? null : INDEX.exec(text);
  const n = match?.[1] === undefined ? NaN : Number(match[1]);
  if (!Number.isSafeInteger(n))
    throw new TraceError(
      file,
      line,
      `${where}${what} must be an integer ≥ 0${what === 'device' ? " (or an id like 'd3')" : ''}, got ${JSON.stringify(value)}`,
    );
  return n;
}

function parseGain(value: unknown, file: string, line: number | undefined, where: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!(Number.isFinite(n) && n >= 0))
    throw new TraceError(file, line, `${where}gain must be a finite linear gain ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

function parseCsv(text: string, file: string): Row[] {
  const rows: Row[] = [];
  let columns: { device: number; slot: number; gain: number } | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const cells = raw.split(',').map((c) => c.trim());
    if (columns === undefined) {
      const names = cells.map((c) => c.toLowerCase());
      if (names.some((c) => /[a-z]/.test(c) && !INDEX.test(c))) {
        const device = names.indexOf('device');
        const slot = names.indexOf('slot');
        const gain = names.indexOf('gain');
        const missing = [
          ['device', device],
          ['slot', slot],
          ['gain', gain],
        ]
          .filter(([, at]) => at === -1)
          .map(([name]) => name);
        if (missing.length > 0 || cells.length !== 3)
          throw new TraceError(
            file,
            lineNo,
            `header must name the columns device, slot, gain${missing.length > 0 ? ` (missing: ${missing.join(', ')})` : ''}, got "${raw}"`,
          );
        columns = { device, slot, gain };
        continue;
      }
      columns = { device: 0, slot: 1, gain: 2 };
    }
    if (cells.length !== 3) throw new TraceError(file, lineNo, `expected 3 fields (device, slot, gain), got ${cells.length}`);
    rows.push({
      device: parseIndex(cells[columns.device], 'device', file, lineNo, ''),
      slot: parseIndex(cells[columns.slot], 'slot', file, lineNo, ''),
      gain: parseGain(cells[columns.gain], file, lineNo, ''),
      where: lineNo,
    });
  }
  return rows;
}

function parseJson(text: string, file: string): Row[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TraceError(file, undefined, `not valid JSON (${(cause as Error).message})`, { cause });
  }
  if (!Array.isArray(json)) throw new TraceError(file, undefined, 'expected a JSON array of {device, slot, gain} entries');
  return json.map((entry: unknown, i): Row => {
    const where = `entry [${i}]: `;
    let device: unknown, slot: unknown, gain: unknown;
    if (Array.isArray(entry) && entry.length === 3) [device, slot, gain] = entry as unknown[];
    else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry))
      ({ device, slot, gain } = entry as Record<string, unknown>);
    else
      throw new TraceError(file, undefined, `${where}expected {device, slot, gain} or [device, slot, gain], got ${JSON.stringify(entry)}`);
    return {
      device: parseIndex(device, 'device', file, undefined, where),
      slot: parseIndex(slot, 'slot', file, undefined, where),
      gain: parseGain(gain, file, undefined, where),
      where: i,
    };
  });
}

/**
 * Parses and validates a trace's text. `format` defaults to the file's extension, else to JSON when
 * the text starts with '[' and CSV otherwise. Throws `TraceError` naming the file, line and problem. MODEL.md §3.
 */
export function parseTrace(text: string, file = '<trace>', format?: 'csv' | 'json'): GainTrace {
  const kind =
    format ?? (/\.json$/i.test(file) ? 'json' : /\.csv$/i.test(file) ? 'csv' : text.trimStart().startsWith('[') ? 'json' : 'csv');
  const isJson = kind === 'json';
  const rows = isJson ? parseJson(text, file) : parseCsv(text, file);
  if (rows.length === 0) throw new TraceError(file, undefined, 'the trace has no rows');
  const lineOf = (row: Row): number | undefined => (isJson ? undefined : row.where);
  const label = (row: Row): string => (isJson ? `entry [${row.where}]` : `line ${row.where}`);
  const byDevice: Row[][] = [];
  for (const row of rows) (byDevice[row.device] ??= []).push(row);
  const gains: number[][] = [];
  let slotCount = -1;
  for (let k = 0; k < byDevice.length; k++) {
    const list = byDevice[k];
    if (list === undefined)
      throw new TraceError(file, undefined, `device ${k} has no rows (devices must run 0..${byDevice.length - 1} without gaps)`);
    const series: (Row | undefined)[] = [];
    for (const row of list) {
      const earlier = series[row.slot];
      if (earlier !== undefined)
        throw new TraceError(
          file,
          lineOf(row),
          `${isJson ? `entry [${row.where}]: ` : ''}device ${k} slot ${row.slot} appears twice (first at ${label(earlier)})`,
        );
      series[row.slot] = row;
    }
    for (let t = 0; t < series.length; t++)
      if (series[t] === undefined)
        throw new TraceError(
          file,
          undefined,
          `device ${k} has no gain for slot ${t} (its slots must run 0..${series.length - 1} without gaps)`,
        );
    if (slotCount === -1) slotCount = series.length;
    else if (series.length !== slotCount)
      throw new TraceError(
        file,
        undefined,
        `device ${k} has ${series.length} slots, device 0 has ${slotCount}: every device needs the same slots`,
      );
    gains.push(series.map((r) => (r as Row).gain));
  }
  return { file, deviceCount: gains.length, slotCount, gains };
}

/** Reads and validates a trace file (CSV or JSON). Throws `TraceError`. MODEL.md §3. */
export function loadTrace(file: string): GainTrace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TraceError(file, undefined, `cannot read file (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
  return parseTrace(text, file);
}

/**
 * Checks that a trace covers a run of `deviceCount` devices and (when given) `slotCount` slots;
 * a short trace is an error naming what is missing. MODEL.md §3.
 */
export function checkTraceCovers(trace: GainTrace, deviceCount: number, slotCount?: number): void {
  if (trace.deviceCount < deviceCount)
    throw new TraceError(trace.file, undefined, `trace too short: it covers ${trace.deviceCount} devices, the run has ${deviceCount}`);
  if (slotCount !== undefined && trace.slotCount < slotCount)
    throw new TraceError(trace.file, undefined, `trace too short: it has ${trace.slotCount} slots, the run needs ${slotCount}`);
}
