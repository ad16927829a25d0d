/**
 * `parseTextLine` over the bytes of an ASCII line, for trace-check's
 * stream path: the file is read as bytes and never decoded, split into
 * lines or cut into per-line strings; only the strings the checker keeps
 * (a new thread's comm, an unknown event's name, a context's names) are
 * made. Same grammar, same results as `parseTextLine` (a differential
 * test holds the two together); positions in the record are offsets in
 * the byte array.
 *
 * Only for ASCII input (the caller checks each chunk): a byte is then a
 * character, so offsets and lengths mean what they mean in the text.
 *
 * @kernel kernel/trace/trace_output.c (trace_print_context, lat_print_generic)
 */
import type { TextLayout } from './record.ts';
import { LINE_MALFORMED, LINE_RECORD, LINE_SKIP } from './text-line.ts';
import type { TextRecord } from './text-line.ts';

/** A text record read from bytes: `TextRecord` positions are offsets in `bytes`. */
export interface ByteRecord extends TextRecord {
  bytes: Uint8Array;
  /** `bytes` as a DataView (compared four bytes at a time). */
  view: DataView;
  /** Offsets of the line in `bytes` (without the newline). */
  start: number;
  end: number;
  /**
   * The task, CPU and flags columns of recent records read in full (see
   * `parseTextBytes`), two-way set-associative by a few of their bytes:
   * records of one task repeat them byte for byte in the kernel's
   * fixed-width layouts.
   */
  prefixes: ColumnsSeen[];
}

/** The columns of a record up to its timestamp, and what they read as. */
class ColumnsSeen {
  bytes = new Uint8Array(64);
  /** `bytes` as a DataView (`sameBytesAt`). */
  view = new DataView(this.bytes.buffer);
  len = 0;
  pid = -1;
  cpu = -1;
  flagsLen = 0;
  /** The comm's offsets from the line's start (both 0: none). */
  commStart = 0;
  commEnd = 0;
  layout: TextLayout = 'ftrace';
}

/** Entries of `ByteRecord.prefixes` (a power of two). */
const PREFIXES = 64;
/**
 * Bytes past the line's start the entry is picked by: the end of a
 * 16-column comm, the pid after it, and where the kernel's layout puts the
 * CPU and the flags (one task shows several flags, `.....` and `d.h1.`).
 */
const PICK_END = 36;

/** The `prefixes` set for the line starting at `s` (needs `s + PICK_END <= len`). */
function pick(v: DataView, s: number): number {
  // Four words: comm's end and the pid's start, the pid, the CPU, the flags.
  let h =
    Math.imul(v.getInt32(s + 14), 0x9e3779b1) ^
    Math.imul(v.getInt32(s + 18), 0x85ebca6b) ^
    Math.imul(v.getInt32(s + 25), 0xc2b2ae35) ^
    Math.imul(v.getInt32(s + 31), 0x27d4eb2f);
  h ^= h >>> 15;
  // The set: an even entry (the one matched last) and the odd one after it.
  return (h & (PREFIXES / 2 - 1)) << 1;
}

/** A fresh record for `parseTextBytes`. */
export function newByteRecord(): ByteRecord {
  return {
    line: '',
    lineNo: 0,
    comm: '',
    pid: -1,
    cpu: -1,
    tNs: 0.5,
    nameStart: 0,
    nameEnd: 0,
    payload: 0,
    layout: 'ftrace',
    flagsLen: 0,
    lost: 0,
    reason: '',
    commStart: 0,
    commEnd: 0,
    bytes: new Uint8Array(0),
    view: new DataView(new ArrayBuffer(0)),
    start: 0,
    end: 0,
    prefixes: Array.from({ length: PREFIXES }, () => new ColumnsSeen()),
  };
}

const SPACE = 32;
const DOT = 46;
const DASH = 45;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const LPAREN = 40;
const RPAREN = 41;
const SLASH = 47;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Flags column characters (`d.h3.`, `....`, `dNs1`, ...), as `parseTextLine` takes them. */
const FLAG_CHARS = new Uint8Array(256);
for (const ch of '.0123456789dDhHsSnNpPbzZXx') FLAG_CHARS[ch.charCodeAt(0)] = 1;

/** Character code arrays by length, refilled by `asciiString`. */
const CODES: number[][] = Array.from({ length: 65 }, (_, n) => new Array<number>(n).fill(0));

/**
 * The ASCII bytes `[s, e)` as a string (short spans: names, numbers). One
 * string per call: adding a character at a time makes a new flat string
 * per character below V8's cons-string length (13), and a job's fence text
 * (`context:seqno`, 9 to 12 characters) is made once per job.
 */
export function asciiString(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n <= 0) return '';
  if (n >= CODES.length) return asciiString(b, s, s + 64) + asciiString(b, s + 64, e);
  const codes = CODES[n]!;
  for (let i = 0; i < n; i++) codes[i] = b[s + i]!;
  return String.fromCharCode.apply(null, codes);
}

/** `b` holds the ASCII string `lit` at `pos` (within `end`). */
export function bytesAt(b: Uint8Array, pos: number, end: number, lit: string): boolean {
  const n = lit.length;
  if (pos < 0 || pos + n > end) return false;
  for (let i = 0; i < n; i++) if (b[pos + i] !== lit.charCodeAt(i)) return false;
  return true;
}

/** The bytes of an ASCII literal, for `matchAt`. */
export function ascii(lit: string): Uint8Array {
  const out = new Uint8Array(lit.length);
  for (let i = 0; i < lit.length; i++) out[i] = lit.charCodeAt(i);
  return out;
}

/** `b` holds the bytes `lit` at `pos` (within `end`): `bytesAt` for a literal made once. */
export function matchAt(b: Uint8Array, pos: number, end: number, lit: Uint8Array): boolean {
  const n = lit.length;
  if (pos < 0 || pos + n > end) return false;
  for (let i = 0; i < n; i++) if (b[pos + i] !== lit[i]) return false;
  return true;
}

function timestampStart(b: Uint8Array, colon: number, from: number): number {
  let i = colon - 1;
  let dots = 0;
  let digits = 0;
  while (i >= from) {
    const c = b[i]!;
    if (isDigit(c)) digits++;
    else if (c === DOT) dots++;
    else break;
    i--;
  }
  if (dots !== 1 || digits < 2) return -1;
  if (i >= from && b[i] !== SPACE) return -1;
  const start = i + 1;
  if (b[start] === DOT || b[colon - 1] === DOT) return -1;
  return start;
}

function parseNs(b: Uint8Array, start: number, end: number): number {
  let secs = 0;
  let i = start;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === DOT) break;
    secs = secs * 10 + (c - 48);
  }
  let frac = 0;
  let n = 0;
  for (i++; i < end && n < 9; i++, n++) frac = frac * 10 + (b[i]! - 48);
  for (; n < 9; n++) frac *= 10;
  return secs * 1e9 + frac;
}

function readUint(b: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + (b[i]! - 48);
  return v;
}

function allDigits(b: Uint8Array, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (!isDigit(b[i]!)) return false;
  return true;
}

/**
 * `parseTextLine` for the ASCII line `b[s, e)`. Returns LINE_RECORD with the
 * fields set, or LINE_SKIP for any other line (blank, header, overflow
 * marker, malformed): the caller reads those as text, where they are
 * counted and reported.
 *
 * Nearly every line of a trace repeats the columns of a recent line of its
 * task; this function reads only those (short, so V8 optimises it early and
 * cheaply), and leaves every other line to `parseColumns`. For those lines
 * the event name is not read: `nameEnd` is -1 and `nameStart` where it
 * starts, and the caller reads it (`readNameAt`) unless it knows the line.
 */
export function parseTextBytes(
  b: Uint8Array,
  s: number,
  len: number,
  lineNo: number,
  r: ByteRecord,
): number {
  if (r.bytes !== b) {
    r.bytes = b;
    r.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  r.start = s;
  r.end = len;
  r.lineNo = lineNo;
  // The same task, CPU and flags columns as a recent record read in full
  // (byte for byte), then a timestamp right after them: every ':' in the
  // columns was turned down there as it would be here, so the timestamp is
  // the one the search in `parseColumns` would find, and the columns read
  // the same. (Nor is the line a comment or header: its first bytes are a
  // record's.)
  const slot = s + PICK_END <= len ? pick(r.view, s) : -1;
  const seen = slot < 0 ? null : seenColumns(r.view, s, len - 1, r.prefixes, slot);
  if (seen === null) return parseColumns(b, s, len, r, slot);
  const ts = s + seen.len;
  const colon = timestampAfter(b, ts, len - 1, r);
  if (colon < 0) return parseColumns(b, s, len, r, slot);
  // The name is left to the caller (`readNameAt`): most fence lines repeat
  // a recent one from the name on (`FenceTails`), and need no name read.
  let p = colon + 2;
  while (p < len && b[p] === SPACE) p++;
  r.nameStart = p;
  r.nameEnd = -1;
  r.payload = -1;
  r.cpu = seen.cpu;
  r.flagsLen = seen.flagsLen;
  r.pid = seen.pid;
  r.comm = '';
  const noComm = seen.commStart === 0 && seen.commEnd === 0;
  r.commStart = noComm ? 0 : s + seen.commStart;
  r.commEnd = noComm ? 0 : s + seen.commEnd;
  r.layout = seen.layout;
  return LINE_RECORD;
}

/**
 * The timestamp starting at `t0` (`digits.digits: `), read as it is checked
 * into `r.tNs`: its colon, or -1 when there is none there.
 */
function timestampAfter(b: Uint8Array, t0: number, last: number, r: ByteRecord): number {
  // The kernel's own `%5lu.%06lu: ` first: the seconds, then six digits at fixed places.
  let secs = 0;
  let d = t0;
  for (; d < last; d++) {
    const c = b[d]!;
    if (c < 48 || c > 57) break;
    secs = secs * 10 + (c - 48);
  }
  if (d > t0 && d + 7 < last && b[d] === DOT && b[d + 7] === COLON && b[d + 8] === SPACE) {
    let us = 0;
    let i = d + 1;
    for (; i < d + 7; i++) {
      const c = b[i]!;
      if (c < 48 || c > 57) break;
      us = us * 10 + (c - 48);
    }
    if (i === d + 7) {
      r.tNs = secs * 1e9 + us * 1000;
      return d + 7;
    }
  }
  return timestampAny(b, t0, last, r);
}

/** `timestampAfter` for any number of digits after the dot (kept to nanoseconds). */
function timestampAny(b: Uint8Array, t0: number, last: number, r: ByteRecord): number {
  let k = t0;
  let dots = 0;
  let digits = 0;
  let secs = 0;
  let frac = 0;
  let fracDigits = 0;
  for (; k < last; k++) {
    const c = b[k]!;
    if (isDigit(c)) {
      digits++;
      if (dots === 0) secs = secs * 10 + (c - 48);
      else if (fracDigits < 9) {
        frac = frac * 10 + (c - 48);
        fracDigits++;
      }
    } else if (c === DOT) dots++;
    else break;
  }
  if (!(
    k < last &&
    b[k] === COLON &&
    b[k + 1] === SPACE &&
    dots === 1 &&
    digits >= 2 &&
    b[t0] !== DOT &&
    b[k - 1] !== DOT
  ))
    return -1;
  for (; fracDigits < 9; fracDigits++) frac *= 10;
  r.tNs = secs * 1e9 + frac;
  return k;
}

/** `readNameAt`: no event name after the timestamp (the line is malformed). */
export const NAME_MALFORMED = 0;
/** `readNameAt`: an event name (`name: payload`). */
export const NAME_PLAIN = 1;
/** `readNameAt`: perf's `task pid [cpu] ts: N name: payload` (the second colon ends the name). */
export const NAME_PERF = 2;

/** The event name and payload after the timestamp's colon at `colon`, into `r`. */
function readName(b: Uint8Array, colon: number, len: number, r: ByteRecord): number {
  let p = colon + 2;
  while (p < len && b[p] === SPACE) p++;
  return readNameAt(b, p, len, r);
}

/**
 * The event name starting at `p` (the timestamp, its colon and the spaces
 * after it come before) and the payload after it, into `r`: one of
 * `NAME_MALFORMED`, `NAME_PLAIN`, `NAME_PERF`.
 */
export function readNameAt(b: Uint8Array, p0: number, len: number, r: ByteRecord): number {
  let p = p0;
  let nameEnd = p;
  while (nameEnd < len && b[nameEnd] !== COLON) nameEnd++;
  if (nameEnd >= len || nameEnd === p) return NAME_MALFORMED;
  let kind = NAME_PLAIN;
  if (nameEnd + 1 < len && b[nameEnd + 1] !== SPACE) {
    let second = nameEnd + 1;
    while (second < len && b[second] !== COLON) second++;
    if (second < len && second > nameEnd + 1) {
      p = nameEnd + 1;
      nameEnd = second;
      kind = NAME_PERF;
    }
  }
  r.nameStart = p;
  r.nameEnd = nameEnd;
  let q = nameEnd + 1;
  while (q < len && b[q] === SPACE) q++;
  r.payload = q;
  return kind;
}

/**
 * `parseTextBytes` for a line whose columns were not seen recently: the
 * timestamp found by search, then the name, then the columns read in full.
 */
function parseColumns(b: Uint8Array, s: number, len: number, r: ByteRecord, slot: number): number {
  const last = len - 1;
  let i = s;
  while (i < len && b[i] === SPACE) i++;
  if (i >= len) return LINE_SKIP;
  const c0 = b[i]!;
  // Comments, overflow markers and trace-cmd headers: read as text.
  if (
    c0 === 35 /* # */ ||
    c0 === 13 ||
    (c0 === 67 /* C */ && bytesAt(b, i, len, 'CPU:')) ||
    (c0 === 99 /* c */ && bytesAt(b, i, len, 'cpus=')) ||
    (c0 === 118 /* v */ && bytesAt(b, i, len, 'version'))
  )
    return LINE_SKIP;
  // The timestamp: the first "digits.digits: " after the task.
  let colon = i;
  let ts: number;
  for (;;) {
    // The next ':' (native search: the comm, pid, CPU and flags come first, some 40 bytes).
    colon = b.indexOf(COLON, colon);
    if (colon < 0 || colon > last) colon = last;
    if (colon >= last) return LINE_MALFORMED;
    if (b[colon + 1] === SPACE) {
      ts = timestampStart(b, colon, i);
      if (ts >= 0) break;
    }
    colon++;
  }
  r.tNs = parseNs(b, ts, colon);
  const name = readName(b, colon, len, r);
  if (name === NAME_MALFORMED) return LINE_MALFORMED;
  return readColumns(b, s, len, r, slot, ts, name === NAME_PERF);
}

/**
 * The task, CPU and flags columns before the timestamp at `ts`, read from
 * the right, and the layout they make; a record of any layout but perf's
 * is then kept in `r.prefixes` for the lines after it.
 */
function readColumns(
  b: Uint8Array,
  s: number,
  len: number,
  r: ByteRecord,
  slot: number,
  ts: number,
  perfName: boolean,
): number {
  let perf = perfName;
  let i = s;
  while (i < len && b[i] === SPACE) i++;
  let e = ts - 1;
  while (e > i && b[e - 1] === SPACE) e--;
  r.cpu = -1;
  r.flagsLen = 0;
  r.commStart = r.commEnd = 0;
  let flagsAt = -1;
  let layout: TextLayout = 'ftrace';
  let t = e;
  while (t > i && b[t - 1] !== SPACE) t--;
  if (b[t] !== LBRACKET) {
    let flags = true;
    for (let k = t; k < e; k++) if (FLAG_CHARS[b[k]!] !== 1) flags = false;
    const n = e - t;
    if (flags && n >= 4 && n <= 5 && t > i) {
      r.flagsLen = n;
      flagsAt = t;
      e = t;
      while (e > i && b[e - 1] === SPACE) e--;
      t = e;
      while (t > i && b[t - 1] !== SPACE) t--;
    } else if (flags && n >= 6 && isDigit(b[t]!)) {
      r.cpu = readUint(b, t, e - 5);
      r.flagsLen = 5;
      layout = 'trace-cmd-latency';
      e = t;
      while (e > i && b[e - 1] === SPACE) e--;
      t = e;
    }
  }
  if (r.cpu < 0 && b[t] === LBRACKET && b[e - 1] === RBRACKET) {
    if (!allDigits(b, t + 1, e - 1)) return LINE_MALFORMED;
    r.cpu = readUint(b, t + 1, e - 1);
    if (r.flagsLen === 0) layout = 'trace-cmd';
    e = t;
    while (e > i && b[e - 1] === SPACE) e--;
  }
  let tgid = false;
  if (e > i && b[e - 1] === RPAREN) {
    let open = e - 2;
    while (open >= s && b[open] !== LPAREN) open--;
    if (open >= i) {
      tgid = true;
      e = open;
      while (e > i && b[e - 1] === SPACE) e--;
    }
  }
  let d = e;
  while (d > i && isDigit(b[d - 1]!)) d--;
  r.comm = '';
  if (d === e) {
    if (perf && e === i) r.pid = -1;
    else return LINE_MALFORMED;
  } else {
    r.pid = readUint(b, d, e);
    let sep = d - 1;
    if (sep >= i && b[sep] === SLASH) {
      let s2 = sep;
      while (s2 > i && isDigit(b[s2 - 1]!)) s2--;
      sep = s2 - 1;
    }
    if (sep >= i) {
      const sc = b[sep];
      if (sc === SPACE) perf = true;
      else if (sc !== DASH) return LINE_MALFORMED;
      let cs = i;
      let ce = sep;
      while (ce > cs && b[ce - 1] === SPACE) ce--;
      while (cs < ce && b[cs] === SPACE) cs++;
      r.commStart = cs;
      r.commEnd = ce;
    }
  }
  if (perf) layout = 'perf';
  else if (tgid)
    layout =
      r.flagsLen === 4 &&
      b[flagsAt] === DOT &&
      b[flagsAt + 1] === DOT &&
      b[flagsAt + 2] === DOT &&
      b[flagsAt + 3] === DOT
        ? 'systrace'
        : 'ftrace-tgid';
  r.layout = layout;
  if (!perf && slot >= 0) {
    // The entry least recently matched of the two gives way.
    const p = r.prefixes;
    const out = p[slot ^ 1]!;
    p[slot ^ 1] = p[slot]!;
    p[slot] = out;
    keepPrefix(b, s, ts, r, out);
  }
  return LINE_RECORD;
}

/**
 * The entry of `prefixes` (two-way: `slot` and its twin `slot ^ 1`) whose
 * columns the line at `s` starts with, moved to `slot`; null if neither.
 */
function seenColumns(
  v: DataView,
  s: number,
  last: number,
  prefixes: ColumnsSeen[],
  slot: number,
): ColumnsSeen | null {
  const a = prefixes[slot]!;
  if (a.len > 0 && s + a.len < last && sameBytesAt(v, s, a.view, a.len)) return a;
  const c = prefixes[slot ^ 1]!;
  if (c.len > 0 && s + c.len < last && sameBytesAt(v, s, c.view, c.len)) {
    prefixes[slot ^ 1] = a;
    prefixes[slot] = c;
    return c;
  }
  return null;
}

/**
 * The bytes of `v` at `[s, s + n)` equal those of `prefix` at `[0, n)`
 * (within `v`: the caller checks `s + n`). Compared four bytes at a time,
 * the last word overlapping: a record's columns are some 40 bytes, an
 * event's name some 20.
 */
export function sameBytesAt(v: DataView, s: number, prefix: DataView, n: number): boolean {
  const w = n - 4;
  if (w < 0) {
    for (let k = 0; k < n; k++) if (v.getUint8(s + k) !== prefix.getUint8(k)) return false;
    return true;
  }
  for (let k = 0; k < w; k += 4) if (v.getInt32(s + k) !== prefix.getInt32(k)) return false;
  return v.getInt32(s + w) === prefix.getInt32(w);
}

/** Remember the columns `b[s, ts)` of record `r` in `c` for the next lines (see `parseTextBytes`). */
function keepPrefix(b: Uint8Array, s: number, ts: number, r: ByteRecord, c: ColumnsSeen): void {
  const n = ts - s;
  if (n > c.bytes.length) {
    c.bytes = new Uint8Array(Math.max(n, 2 * c.bytes.length));
    c.view = new DataView(c.bytes.buffer);
  }
  const to = c.bytes;
  for (let k = 0; k < n; k++) to[k] = b[s + k]!;
  c.len = n;
  c.pid = r.pid;
  c.cpu = r.cpu;
  c.flagsLen = r.flagsLen;
  const noComm = r.commStart === 0 && r.commEnd === 0;
  c.commStart = noComm ? 0 : r.commStart - s;
  c.commEnd = noComm ? 0 : r.commEnd - s;
  c.layout = r.layout;
}

/** The comm of the record `parseTextBytes` just read (a new string: call only when needed). */
export function commOfBytes(r: ByteRecord): string {
  return r.commEnd > r.commStart ? asciiString(r.bytes, r.commStart, r.commEnd) : '';
}
