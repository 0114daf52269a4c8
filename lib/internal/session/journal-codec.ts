import type { TaskRecord } from './session-task.js';
import type { TaskChange } from './session-store.js';

/**
 * The journal's text format: one record per line, `J1 <crc32 of the JSON, 8 hex digits> <JSON>\n`.
 * A record counts only when its line is complete (ends in `\n`) and its checksum matches, so a
 * torn append (a crash mid-write), an empty or zero-filled tail, or a damaged line is detected
 * and skipped, never half-applied.
 */
const PREFIX = 'J1 ';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of the UTF-8 bytes of `text`. */
export function crc32(text: string): number {
  const bytes = new TextEncoder().encode(text);
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One change as a journal line. */
export function encodeChange(change: TaskChange): string {
  const json = JSON.stringify(change.type === 'put' ? { t: 'put', task: change.task } : { t: 'del', id: change.id });
  return `${PREFIX}${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** What reading a journal found. */
export interface DecodedJournal {
  /** The tasks after replaying every sound record, in creation order. */
  readonly tasks: TaskRecord[];
  /** Sound records. */
  readonly records: number;
  /** Complete lines whose checksum or JSON was wrong (skipped). */
  readonly damaged: number;
  /** True when the text ends in an incomplete line (a torn append, skipped). */
  readonly torn: boolean;
  /**
   * Complete lines a newer version wrote: of another format (`J2 …`), or sound (their checksum
   * right) but of a kind this version does not know. Never damage: they must not be dropped.
   */
  readonly newer: number;
}

/** Replays a journal: later records of a task replace earlier ones; `del` removes it. */
export function decodeJournal(text: string): DecodedJournal {
  const tasks = new Map<string, TaskRecord>();
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  let records = 0;
  let damaged = 0;
  let newer = 0;
  for (const line of lines) {
    const change = decodeLine(line);
    if (change === 'unknown') {
      newer++;
      continue;
    }
    if (!change) {
      if (line.length > 0) damaged++;
      continue;
    }
    records++;
    if (change.type === 'put') tasks.set(change.task.id, change.task);
    else tasks.delete(change.id);
  }
  return { tasks: [...tasks.values()].sort((a, b) => a.seq - b.seq), records, damaged, torn: tail.length > 0, newer };
}

/** Another format's prefix: `J` and a version number other than 1. */
const OTHER_FORMAT = /^J(?:[2-9]|[1-9][0-9]+) /;

/** A line's change; undefined for a damaged line, 'unknown' for one a newer version wrote. */
function decodeLine(line: string): TaskChange | 'unknown' | undefined {
  if (OTHER_FORMAT.test(line)) return 'unknown';
  if (!line.startsWith(PREFIX) || line.charAt(PREFIX.length + 8) !== ' ') return undefined;
  const crc = line.slice(PREFIX.length, PREFIX.length + 8);
  const json = line.slice(PREFIX.length + 9);
  if (!/^[0-9a-f]{8}$/.test(crc) || parseInt(crc, 16) !== crc32(json)) return undefined;
  let value: { t?: string; task?: TaskRecord; id?: string } | null;
  try {
    value = JSON.parse(json) as typeof value;
  } catch {
    return undefined;
  }
  if (value?.t === 'put' && value.task && typeof value.task.id === 'string') return { type: 'put', task: value.task };
  if (value?.t === 'del' && typeof value.id === 'string') return { type: 'delete', id: value.id };
  // Its checksum is right: not damage, but a record this version cannot read.
  return 'unknown';
}

/** The journal holding exactly `tasks`: what compaction writes. */
export function encodeSnapshot(tasks: Iterable<TaskRecord>): string {
  let text = '';
  for (const task of tasks) text += encodeChange({ type: 'put', task });
  return text;
}
