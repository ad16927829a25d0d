/**
 * The line around an event in the text containers, read without regular
 * expressions or substrings (a 10^6-line trace is read at close to the
 * speed of splitting it into lines):
 *
 * - ftrace `trace` / `trace_pipe`: `comm-pid [(tgid)] [CPU] flags secs.usecs: event: payload`
 *   (comm right-aligned in 16 columns and may hold `-`, spaces and `:`, so
 *   the pid is after the last `-`; flags 4 or 5 characters; tgid may be `-----`);
 * - `trace-cmd report`: `comm-pid [CPU] secs.usecs: event:   payload` (no flags;
 *   `-l` glues the CPU to 5 flags: `1.....`; `-t` prints 9 decimals);
 * - `perf script`: `comm tid [CPU] secs.usecs: system:event: payload` (comm may
 *   hold spaces; cpu or comm may be missing with `-F`);
 * - Perfetto's systrace export: as ftrace with the tgid column and `....`.
 *
 * Overflow markers (`CPU:3 [LOST 1024 EVENTS]`, `CPU:3 [1024 EVENTS DROPPED]`)
 * are their own lines.
 *
 * @kernel kernel/trace/trace_output.c (trace_print_context, lat_print_generic)
 */
import { startsAt } from './chars.ts';
import type { RawRecord, TextLayout } from './record.ts';

/** What `parseTextLine` found. */
export const LINE_RECORD = 0;
export const LINE_SKIP = 1;
export const LINE_LOST = 2;
export const LINE_MALFORMED = 3;

/** A text record being parsed (reused from line to line). */
export interface TextRecord extends RawRecord {
  layout: TextLayout;
  /** Length of the flags column (0 when absent). */
  flagsLen: number;
  /** Events lost (LINE_LOST). */
  lost: number;
  /** Why the line is malformed (LINE_MALFORMED). */
  reason: string;
  /** The comm's span in `line` (`commOf` slices it only when needed). */
  commStart: number;
  commEnd: number;
}

/** A fresh record to pass to `parseTextLine`. */
export function newTextRecord(): TextRecord {
  return {
    line: '',
    lineNo: 0,
    comm: '',
    pid: -1,
    cpu: -1,
    tNs: 0,
    nameStart: 0,
    nameEnd: 0,
    payload: 0,
    layout: 'ftrace',
    flagsLen: 0,
    lost: 0,
    reason: '',
    commStart: 0,
    commEnd: 0,
  };
}

const SPACE = 32;
const DOT = 46;
const DASH = 45;
const LBRACKET = 91;
const RBRACKET = 93;
const RPAREN = 41;
const SLASH = 47;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Flags column characters (`d.h3.`, `....`, `dNs1`, ...), by char code. */
const FLAG_CHARS = new Uint8Array(128);
for (const ch of '.0123456789dDhHsSnNpPbzZXx') FLAG_CHARS[ch.charCodeAt(0)] = 1;

/** A flags column character. */
function isFlag(c: number): boolean {
  return c < 128 && FLAG_CHARS[c] === 1;
}

/**
 * Where the timestamp token ending at `colon` (the index of `": "`) starts,
 * or -1 if the text before the colon is not `digits.digits`.
 */
function timestampStart(line: string, colon: number, from: number): number {
  let i = colon - 1;
  let dots = 0;
  let digits = 0;
  while (i >= from) {
    const c = line.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (c === DOT) dots++;
    else break;
    i--;
  }
  if (dots !== 1 || digits < 2) return -1;
  if (i >= from && line.charCodeAt(i) !== SPACE) return -1;
  const start = i + 1;
  if (line.charCodeAt(start) === DOT || line.charCodeAt(colon - 1) === DOT) return -1;
  return start;
}

/** `secs.frac` → integer ns (6 or 9 decimals, or any other count). */
function parseNs(line: string, start: number, end: number): number {
  let secs = 0;
  let i = start;
  for (; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === DOT) break;
    secs = secs * 10 + (c - 48);
  }
  let frac = 0;
  let n = 0;
  for (i++; i < end && n < 9; i++, n++) frac = frac * 10 + (line.charCodeAt(i) - 48);
  for (; n < 9; n++) frac *= 10;
  return secs * 1e9 + frac;
}

function readUint(line: string, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + (line.charCodeAt(i) - 48);
  return v;
}

function allDigits(line: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (!isDigit(line.charCodeAt(i))) return false;
  return true;
}

function lostLine(line: string, i: number, r: TextRecord): number {
  // CPU:3 [LOST 1024 EVENTS]   or   CPU:3 [1024 EVENTS DROPPED]
  let p = i + 4;
  let cpu = 0;
  while (p < line.length && isDigit(line.charCodeAt(p)))
    cpu = cpu * 10 + (line.charCodeAt(p++) - 48);
  const b = line.indexOf('[', p);
  if (b < 0) return LINE_SKIP;
  let q = b + 1;
  if (startsAt(line, q, 'LOST ')) q += 5;
  let lost = 0;
  let any = false;
  while (q < line.length && isDigit(line.charCodeAt(q))) {
    lost = lost * 10 + (line.charCodeAt(q++) - 48);
    any = true;
  }
  if (!any || line.indexOf('EVENTS', q) < 0) return LINE_SKIP;
  r.cpu = cpu;
  r.lost = lost;
  return LINE_LOST;
}

/**
 * Parse one text line into `r` (reused). Returns LINE_RECORD with the
 * fields set, LINE_SKIP for headers and blank lines, LINE_LOST for an
 * overflow marker, LINE_MALFORMED with `r.reason`. Never throws.
 */
export function parseTextLine(line: string, lineNo: number, r: TextRecord): number {
  r.line = line;
  r.lineNo = lineNo;
  const len = line.length;
  let i = 0;
  while (i < len && line.charCodeAt(i) === SPACE) i++;
  if (i >= len) return LINE_SKIP;
  const c0 = line.charCodeAt(i);
  if (c0 === 35 /* # */ || c0 === 13 /* \r */) return LINE_SKIP;
  // Only a line starting with C, c or v can be an overflow marker or a trace-cmd header.
  if (c0 === 67 /* C */ && startsAt(line, i, 'CPU:') && line.indexOf('EVENTS', i) > 0)
    return lostLine(line, i, r);
  if (
    (c0 === 99 /* c */ && startsAt(line, i, 'cpus=')) ||
    (c0 === 118 /* v */ && (startsAt(line, i, 'version =') || startsAt(line, i, 'version=')))
  )
    return LINE_SKIP;

  // The timestamp: the first "digits.digits: " after the task.
  let colon = line.indexOf(': ', i);
  let ts = -1;
  while (colon >= 0) {
    ts = timestampStart(line, colon, i);
    if (ts >= 0) break;
    colon = line.indexOf(': ', colon + 1);
  }
  if (colon < 0 || ts < 0) {
    r.reason = 'no timestamp ("secs.usecs: ") found';
    return LINE_MALFORMED;
  }
  r.tNs = parseNs(line, ts, colon);

  // Event name, with perf's "system:" prefix dropped.
  let p = colon + 2;
  while (p < len && line.charCodeAt(p) === SPACE) p++;
  let nameEnd = line.indexOf(':', p);
  if (nameEnd < 0 || nameEnd === p) {
    r.reason = 'no event name ("event: payload") after the timestamp';
    return LINE_MALFORMED;
  }
  let perf = false;
  if (nameEnd + 1 < len && line.charCodeAt(nameEnd + 1) !== SPACE) {
    const second = line.indexOf(':', nameEnd + 1);
    if (second > nameEnd + 1) {
      p = nameEnd + 1;
      nameEnd = second;
      perf = true;
    }
  }
  r.nameStart = p;
  r.nameEnd = nameEnd;
  let q = nameEnd + 1;
  while (q < len && line.charCodeAt(q) === SPACE) q++;
  r.payload = q;

  // The task, CPU and flags, read from the right.
  let e = ts - 1;
  while (e > i && line.charCodeAt(e - 1) === SPACE) e--;
  r.cpu = -1;
  r.flagsLen = 0;
  r.commStart = r.commEnd = 0;
  let flagsAt = -1;
  let layout: TextLayout = 'ftrace';
  // Last token: flags, [cpu], or cpu glued to flags (trace-cmd -l).
  let t = e;
  while (t > i && line.charCodeAt(t - 1) !== SPACE) t--;
  if (line.charCodeAt(t) !== LBRACKET) {
    let flags = true;
    for (let k = t; k < e; k++) if (!isFlag(line.charCodeAt(k))) flags = false;
    const n = e - t;
    if (flags && n >= 4 && n <= 5 && t > i) {
      r.flagsLen = n;
      flagsAt = t;
      e = t;
      while (e > i && line.charCodeAt(e - 1) === SPACE) e--;
      t = e;
      while (t > i && line.charCodeAt(t - 1) !== SPACE) t--;
    } else if (flags && n >= 6 && isDigit(line.charCodeAt(t))) {
      // trace-cmd report -l: CPU digits followed by 5 flag characters.
      r.cpu = readUint(line, t, e - 5);
      r.flagsLen = 5;
      layout = 'trace-cmd-latency';
      e = t;
      while (e > i && line.charCodeAt(e - 1) === SPACE) e--;
      t = e;
    }
  }
  if (r.cpu < 0 && line.charCodeAt(t) === LBRACKET && line.charCodeAt(e - 1) === RBRACKET) {
    if (!allDigits(line, t + 1, e - 1)) {
      r.reason = 'bad CPU field';
      return LINE_MALFORMED;
    }
    r.cpu = readUint(line, t + 1, e - 1);
    if (r.flagsLen === 0) layout = 'trace-cmd';
    e = t;
    while (e > i && line.charCodeAt(e - 1) === SPACE) e--;
  }
  // Optional "(tgid)" (may hold spaces or dashes).
  let tgid = false;
  if (e > i && line.charCodeAt(e - 1) === RPAREN) {
    const open = line.lastIndexOf('(', e - 1);
    if (open >= i) {
      tgid = true;
      e = open;
      while (e > i && line.charCodeAt(e - 1) === SPACE) e--;
    }
  }
  // comm-pid (ftrace, trace-cmd) or "comm tid" / "comm pid/tid" (perf).
  let d = e;
  while (d > i && isDigit(line.charCodeAt(d - 1))) d--;
  if (d === e) {
    if (perf && e === i) {
      r.pid = -1;
      r.comm = '';
    } else {
      r.reason = 'no pid in the task field';
      return LINE_MALFORMED;
    }
  } else {
    r.pid = readUint(line, d, e);
    let sep = d - 1;
    if (sep >= i && line.charCodeAt(sep) === SLASH) {
      // perf "pid/tid": the tid is what we have; skip the pid.
      let s2 = sep;
      while (s2 > i && isDigit(line.charCodeAt(s2 - 1))) s2--;
      sep = s2 - 1;
    }
    if (sep < i) {
      r.comm = '';
    } else {
      const sc = line.charCodeAt(sep);
      if (sc === DASH) {
        // The comm may itself contain "-": the pid follows the last one.
      } else if (sc === SPACE) {
        perf = true;
      } else {
        r.reason = 'the task field is not comm-pid';
        return LINE_MALFORMED;
      }
      let cs = i;
      let ce = sep;
      while (ce > cs && line.charCodeAt(ce - 1) === SPACE) ce--;
      while (cs < ce && line.charCodeAt(cs) === SPACE) cs++;
      // The comm is only needed the first time a pid is seen: keep the span.
      r.comm = '';
      r.commStart = cs;
      r.commEnd = ce;
    }
  }
  if (perf) layout = 'perf';
  else if (tgid)
    layout = r.flagsLen === 4 && startsAt(line, flagsAt, '....') ? 'systrace' : 'ftrace-tgid';
  r.layout = layout;
  return LINE_RECORD;
}

/** The comm of the record `parseTextLine` just read (a substring: call only when needed). */
export function commOf(r: TextRecord): string {
  return r.commEnd > r.commStart ? r.line.slice(r.commStart, r.commEnd) : r.comm;
}
