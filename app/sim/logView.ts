/** `airlora log LOG [--slot N] [--actor ID] [--type T]`: the events of a log, filtered; a damaged log shows its valid prefix and says where it breaks. */
import { readEventLog } from '../../runtime/eventLog';
import { canonicalJson } from '../../runtime/canonical';

export interface LogFilter {
  slot?: number;
  actor?: string;
  type?: string;
}

/** Prints the matching events; returns 0, or 2 when the log is damaged (after printing the valid prefix). */
export function printLog(file: string, filter: LogFilter, write: (line: string) => void = (l) => console.log(l)): number {
  let contents;
  try {
    contents = readEventLog(file);
  } catch (e) {
    console.error(`airlora: ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    return 2;
  }
  if (contents.header)
    write(
      `# ${contents.header.format} v${contents.header.version}, seed ${contents.header.seed}, backend ${contents.header.backend}, package ${contents.header.packageVersion}`,
    );
  for (const e of contents.events) {
    if (filter.slot !== undefined && e.slot !== filter.slot) continue;
    if (filter.actor !== undefined && e.from !== filter.actor && e.to !== filter.actor) continue;
    if (filter.type !== undefined && e.type !== filter.type) continue;
    write(
      `${String(e.seq).padStart(7)} slot ${String(e.slot).padStart(4)} t=${e.t.toFixed(6)}s ${e.from} → ${e.to} ${e.type} ${e.kind === 'msg' ? '' : `[${e.kind}] `}${e.payload.bits} bits ${canonicalJson(e.payload.value)}`,
    );
  }
  if (contents.error) {
    console.error(`airlora: ${contents.error.message} (the ${contents.events.length} events before it are shown)`);
    return 2;
  }
  return 0;
}
