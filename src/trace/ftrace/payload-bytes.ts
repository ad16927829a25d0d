/**
 * The payload readers of `payload.ts` for the kernel's own layouts of the
 * frequent events, over the bytes of an ASCII line (trace-check's stream
 * path, see `text-bytes.ts`). Each reads exactly the form its string twin
 * reads first and gives the same fields; anything else (other layouts,
 * Perfetto's `key=value` form, odd spacing) answers false, and the caller
 * reads the line as text, where the general readers take it.
 *
 * @kernel include/trace/events/dma_fence.h, drivers/gpu/drm/scheduler/gpu_scheduler_trace.h
 */
import type { FencePayload, JobPayload, NameCache, SchedFence } from './payload.ts';
import { ascii, asciiString, bytesAt, matchAt } from './text-bytes.ts';

// The literals of the layouts read here, as bytes.
const DRIVER = ascii('driver=');
const SEQNO = ascii(' seqno=');
const CONTEXT = ascii(' context=');
const DEV = ascii('dev=');
const RING = ascii(', ring=');
const HW_JOB_COUNT = ascii(', hw job count:');
const CLIENT_ID = ascii(', client_id:');
const FENCE = ascii('fence=');
const SIGNALED = ascii(' signaled');
const DEPENDS_ON = ascii(' depends on ');
const UNSIGNALLED = ascii('unsignalled ');
const TIMELINE = ascii(' timeline=');

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function digitsEnd(b: Uint8Array, at: number, end: number): number {
  let i = at;
  while (i < end && isDigit(b[i]!)) i++;
  return i === at ? -1 : i;
}

function digitsValue(b: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + (b[i]! - 48);
  return v;
}

/** First `lit` in `b[from, end)`, or -1. */
function indexOfBytes(b: Uint8Array, lit: string, from: number, end: number): number {
  const c = lit.charCodeAt(0);
  const last = end - lit.length;
  for (let i = from; i <= last; i++) if (b[i] === c && bytesAt(b, i, end, lit)) return i;
  return -1;
}

/**
 * `readFence` for `driver=%s timeline=%s context=%u seqno=%u` ending the
 * line; with `names`, the driver and timeline too. False for any other form.
 */
export function readFenceBytes(
  b: Uint8Array,
  from: number,
  end: number,
  names: boolean,
  out: FencePayload,
): boolean {
  if (!matchAt(b, from, end, DRIVER)) return false;
  let i = end;
  while (i > from && isDigit(b[i - 1]!)) i--;
  if (!(i < end && i - 7 > from && matchAt(b, i - 7, end, SEQNO))) return false;
  const s = i - 7;
  let j = s;
  while (j > from && isDigit(b[j - 1]!)) j--;
  if (!(j < s && j - 9 >= from && matchAt(b, j - 9, end, CONTEXT))) return false;
  const c = j - 9;
  out.context = digitsValue(b, j, s);
  out.seqno = digitsValue(b, i, end);
  if (names) {
    // The last " timeline=" starting at or before the context (as `lastIndexOf`).
    let t = c;
    while (t >= from && !(b[t] === 32 && matchAt(b, t, end, TIMELINE))) t--;
    if (t < from) return false;
    out.driver = asciiString(b, from + 7, t);
    out.timeline = asciiString(b, t + 10, c);
  }
  return true;
}

/**
 * Recent names (rings, devices), direct-mapped by their length and end
 * bytes: jobs of a few rings interleave, and each ring's name is then one
 * string (made once, hashed once as a map key downstream), not a new one
 * whenever the ring changes from the line before.
 */
const NAME_SLOTS = 32;
const recentNames: string[] = new Array<string>(NAME_SLOTS).fill('');

/** `cached` when `b[at, e)` spells it, else a recent string that does, else a new string. */
export function reuseBytes(b: Uint8Array, at: number, e: number, cached: string): string {
  const n = e - at;
  if (n === cached.length && bytesAt(b, at, e, cached)) return cached;
  if (n <= 0) return '';
  const slot =
    (n * 7 + b[at]! * 3 + b[e - 1]! * 5 + b[e - 2 >= at ? e - 2 : at]!) & (NAME_SLOTS - 1);
  const t = recentNames[slot]!;
  if (t.length === n && bytesAt(b, at, e, t)) return t;
  return (recentNames[slot] = asciiString(b, at, e));
}

/** `readJob617` over bytes (the 6.17 `drm_sched_job_queue` / `_run` layout). */
export function readJob617Bytes(
  b: Uint8Array,
  from: number,
  end: number,
  names: NameCache,
  out: JobPayload,
): boolean {
  if (!matchAt(b, from, end, DEV)) return false;
  const devEnd = indexOfBytes(b, ', fence=', from + 4, end);
  if (devEnd < 0) return false;
  const fAt = devEnd + 8;
  const aEnd = digitsEnd(b, fAt, end);
  if (aEnd < 0 || b[aEnd] !== 58) return false;
  const bEnd = digitsEnd(b, aEnd + 1, end);
  if (bEnd < 0 || !matchAt(b, bEnd, end, RING)) return false;
  const ringAt = bEnd + 7;
  const ringEnd = indexOfBytes(b, ', job count:', ringAt, end);
  if (ringEnd < 0) return false;
  const jcEnd = digitsEnd(b, ringEnd + 12, end);
  if (jcEnd < 0 || !matchAt(b, jcEnd, end, HW_JOB_COUNT)) return false;
  const neg = b[jcEnd + 15] === 45;
  const hwAt = jcEnd + 15 + (neg ? 1 : 0);
  const hwEnd = digitsEnd(b, hwAt, end);
  if (hwEnd < 0) return false;
  const clAt = matchAt(b, hwEnd, end, CLIENT_ID) ? hwEnd + 12 : -1;
  const clEnd = clAt >= 0 ? digitsEnd(b, clAt, end) : -1;
  const dev = reuseBytes(b, from + 4, devEnd, names.dev);
  const ring = reuseBytes(b, ringAt, ringEnd, names.ring);
  names.dev = dev;
  names.ring = ring;
  out.ring = ring;
  out.dev = dev;
  const f = out.fence;
  f.context = digitsValue(b, fAt, aEnd);
  f.seqno = digitsValue(b, aEnd + 1, bEnd);
  f.fence = fenceText(b, fAt, bEnd, f.context, f.seqno);
  f.numeric = true;
  f.end = bEnd;
  out.id = -1;
  out.jobCount = digitsValue(b, ringEnd + 12, jcEnd);
  const hw = digitsValue(b, hwAt, hwEnd);
  out.hwJobCount = neg ? -hw : hw;
  out.clientId = clEnd >= 0 ? digitsValue(b, clAt, clEnd) : 0;
  if (out.deps.length > 0) out.deps = [];
  return true;
}

/**
 * Recent `A:B` fence texts, direct-mapped by their numbers: a job's queue,
 * run, done and dependency lines name its fence again within a few lines,
 * and the text is then the same string, not a new one per line.
 */
const FENCE_TEXTS = 64;
const fenceTexts: string[] = new Array<string>(FENCE_TEXTS).fill('');

/** The text of the fence `b[at, end)` (`A:B`, `a` = A, `s` = B), from the recent ones when it is there. */
function fenceText(b: Uint8Array, at: number, end: number, a: number, s: number): string {
  const slot = (a * 31 + s) & (FENCE_TEXTS - 1);
  const t = fenceTexts[slot]!;
  if (t.length === end - at && bytesAt(b, at, end, t)) return t;
  return (fenceTexts[slot] = asciiString(b, at, end));
}

/** `fence=A:B` at `at`: fills `out` (text, numbers) and returns its end, or -1. */
function numericFence(b: Uint8Array, at: number, end: number, out: SchedFence): number {
  const aEnd = digitsEnd(b, at, end);
  if (aEnd < 0 || b[aEnd] !== 58) return -1;
  const bEnd = digitsEnd(b, aEnd + 1, end);
  if (bEnd < 0) return -1;
  out.context = digitsValue(b, at, aEnd);
  out.seqno = digitsValue(b, aEnd + 1, bEnd);
  out.fence = fenceText(b, at, bEnd, out.context, out.seqno);
  out.numeric = true;
  out.end = bEnd;
  return bEnd;
}

/** `readDone` for exactly `fence=A:B signaled` (6.17 `drm_sched_job_done`). */
export function readDoneBytes(b: Uint8Array, from: number, end: number, out: SchedFence): boolean {
  if (!matchAt(b, from, end, FENCE)) return false;
  const e = numericFence(b, from + 6, end, out);
  return e === end || (e > 0 && e + 9 === end && matchAt(b, e, end, SIGNALED));
}

/**
 * `readDep` for exactly `fence=A:B depends on [unsignalled ]fence=C:D`
 * (6.17 `drm_sched_job_add_dep` / `_unschedulable`); `dep` gets C and D.
 */
export function readDepBytes(
  b: Uint8Array,
  from: number,
  end: number,
  job: SchedFence,
  dep: { context: number; seqno: number },
): boolean {
  if (!matchAt(b, from, end, FENCE)) return false;
  let p = numericFence(b, from + 6, end, job);
  if (p < 0 || !matchAt(b, p, end, DEPENDS_ON)) return false;
  p += 12;
  if (matchAt(b, p, end, UNSIGNALLED)) p += 12;
  if (!matchAt(b, p, end, FENCE)) return false;
  const c = p + 6;
  const aEnd = digitsEnd(b, c, end);
  if (aEnd < 0 || b[aEnd] !== 58) return false;
  const sEnd = digitsEnd(b, aEnd + 1, end);
  if (sEnd !== end) return false;
  dep.context = digitsValue(b, c, aEnd);
  dep.seqno = digitsValue(b, aEnd + 1, sEnd);
  return true;
}
