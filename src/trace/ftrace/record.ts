/**
 * One trace record as the container gives it, before its payload is read:
 * the task, CPU, timestamp and where the event name and payload lie in the
 * line. Shared by the text containers (ftrace `trace` / `trace_pipe`,
 * `trace-cmd report`, `perf script`, Perfetto's systrace export) and the
 * Perfetto text proto reader, so one payload reader serves them all.
 */

/** A record's location in its source line, plus the container fields. */
export interface RawRecord {
  /** The whole line (text containers) or a synthetic `key=value` payload line (text proto). */
  line: string;
  lineNo: number;
  /** Task comm (as printed; empty when the container has none) and pid/tid (-1 when absent). */
  comm: string;
  pid: number;
  cpu: number;
  /** Timestamp in integer nanoseconds. */
  tNs: number;
  /** Event name: `line.slice(nameStart, nameEnd)`, without a `system:` prefix. */
  nameStart: number;
  nameEnd: number;
  /** Start of the payload in `line` (end is the end of the line). */
  payload: number;
}

/** The text layouts a line can come in (for the summary). */
export type TextLayout =
  'ftrace' | 'ftrace-tgid' | 'trace-cmd' | 'trace-cmd-latency' | 'perf' | 'systrace';

/** Per-line parse result of a text container. */
export type LineResult =
  | { kind: 'record'; layout: TextLayout; flags: number }
  | { kind: 'lost'; cpu: number; lost: number }
  | { kind: 'skip' }
  | { kind: 'malformed'; reason: string };
