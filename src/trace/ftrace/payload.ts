/**
 * Readers for the payloads (`TP_printk` output) of the events trace-check
 * understands, one grammar per event shared by every container. Each reads
 * `line` from `from` to its end and returns its fields, or a string saying
 * why the payload is malformed. Only the strings an event needs are cut out.
 *
 * Accepted forms (kernel-traces reference §2–§5): the kernel's own layouts
 * in each generation, and Perfetto's `key=value` export in any order
 * (`fence=A:B`, `fence=(context:A, seqno:B)` and `fence_context=A
 * fence_seqno=B` all name a fence).
 *
 * @kernel include/trace/events/dma_fence.h, drivers/gpu/drm/scheduler/gpu_scheduler_trace.h,
 *         drivers/gpu/drm/amd/amdgpu/amdgpu_trace.h
 */
import { startsAt } from './chars.ts';

/** A `dma_fence_*` payload. `driver` / `timeline` only when asked for. */
export interface FencePayload {
  context: number;
  seqno: number;
  driver: string;
  timeline: string;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Decimal digits at `at` → [value, end], or null. */
function uintAt(line: string, at: number): [number, number] | null {
  let v = 0;
  let i = at;
  const len = line.length;
  while (i < len) {
    const c = line.charCodeAt(i);
    if (!isDigit(c)) break;
    v = v * 10 + (c - 48);
    i++;
  }
  if (i === at) return null;
  return [v, i];
}

/** End of the decimal digits at `at`, or -1 when there are none. */
function digitsEnd(line: string, at: number): number {
  let i = at;
  const len = line.length;
  while (i < len && isDigit(line.charCodeAt(i))) i++;
  return i === at ? -1 : i;
}

/** Value of the decimal digits in `[start, end)` (as `uintAt` reads them). */
function digitsValue(line: string, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + (line.charCodeAt(i) - 48);
  return v;
}

/** Signed decimal at `at` → [value, end], or null. */
function intAt(line: string, at: number): [number, number] | null {
  if (line.charCodeAt(at) === 45) {
    const r = uintAt(line, at + 1);
    return r ? [-r[0], r[1]] : null;
  }
  return uintAt(line, at);
}

/** The payload is Perfetto's `key=value` form (no comma-separated kernel layout). */
export function isKeyValue(line: string, from: number): boolean {
  return line.indexOf(', ', from) < 0 && line.indexOf('=', from) > 0;
}

/** `key=value` pairs of a Perfetto-export payload (values end at a space). */
export function keyValues(line: string, from: number): Map<string, string> {
  const m = new Map<string, string>();
  let i = from;
  const len = line.length;
  while (i < len) {
    while (i < len && line.charCodeAt(i) === 32) i++;
    const eq = line.indexOf('=', i);
    if (eq < 0) break;
    let end = line.indexOf(' ', eq + 1);
    if (end < 0) end = len;
    m.set(line.slice(i, eq), line.slice(eq + 1, end));
    i = end + 1;
  }
  return m;
}

function num(m: Map<string, string>, k: string): number | null {
  const v = m.get(k);
  if (v === undefined || !/^-?\d+$/.test(v)) return null;
  return Number(v);
}

/**
 * `driver=%s timeline=%s context=%u seqno=%u` (read from the right: names
 * may be empty or hold spaces), or the `key=value` export form.
 */
export function readFence(
  line: string,
  from: number,
  names: boolean,
  out: FencePayload,
): string | null {
  if (!startsAt(line, from, 'driver=')) {
    const m = keyValues(line, from);
    const context = num(m, 'context');
    const seqno = num(m, 'seqno');
    if (context === null || seqno === null) return 'dma_fence payload without context= and seqno=';
    out.context = context;
    out.seqno = seqno;
    out.driver = m.get('driver') ?? '';
    out.timeline = m.get('timeline') ?? '';
    return null;
  }
  // The kernel's layout ends in "context=C seqno=S": find the two numbers from the end of the line.
  let c = -1;
  let i = line.length;
  while (i > from && isDigit(line.charCodeAt(i - 1))) i--;
  if (i < line.length && i - 7 > from && startsAt(line, i - 7, ' seqno=')) {
    const seqnoAt = i;
    const s = i - 7;
    let j = s;
    while (j > from && isDigit(line.charCodeAt(j - 1))) j--;
    if (j < s && j - 9 >= from && startsAt(line, j - 9, ' context=')) {
      c = j - 9;
      out.context = digitsValue(line, j, s);
      out.seqno = digitsValue(line, seqnoAt, line.length);
    }
  }
  if (c < 0) {
    // Anything after the seqno, or an unusual payload: search for the fields.
    const s = line.lastIndexOf(' seqno=');
    c = s > from ? line.lastIndexOf(' context=', s) : -1;
    if (s < 0 || c < from) return 'dma_fence payload without " context=" and " seqno="';
    const cv = uintAt(line, c + 9);
    const sv = uintAt(line, s + 7);
    if (!cv || cv[1] !== s || !sv) return 'dma_fence context or seqno is not a decimal number';
    out.context = cv[0];
    out.seqno = sv[0];
  }
  if (names) {
    const t = line.lastIndexOf(' timeline=', c);
    if (t < from) return 'dma_fence payload without " timeline="';
    out.driver = line.slice(from + 7, t);
    out.timeline = line.slice(t + 10, c);
  }
  return null;
}

/** A fence named by a drm_sched / amdgpu event: `A:B`, `(context:A, seqno:B)` or a pointer. */
export interface SchedFence {
  /** `context:seqno` as decimal u64 text, or the pointer as printed. */
  fence: string;
  context: number;
  seqno: number;
  /** False for the legacy pointer form. */
  numeric: boolean;
  end: number;
}

/** The fence value at `at` (just after `fence=`). */
export function fenceAt(line: string, at: number): SchedFence | null {
  if (line.charCodeAt(at) === 40 /* ( */) {
    // (context:A, seqno:B)
    if (!startsAt(line, at + 1, 'context:')) return null;
    const a = uintAt(line, at + 9);
    if (!a || !startsAt(line, a[1], ', seqno:')) return null;
    const b = intAt(line, a[1] + 8);
    if (!b || line.charCodeAt(b[1]) !== 41) return null;
    return { fence: `${a[0]}:${b[0]}`, context: a[0], seqno: b[0], numeric: true, end: b[1] + 1 };
  }
  const a = uintAt(line, at);
  if (a && line.charCodeAt(a[1]) === 58 /* : */) {
    const b = uintAt(line, a[1] + 1);
    if (!b) return null;
    return { fence: line.slice(at, b[1]), context: a[0], seqno: b[0], numeric: true, end: b[1] };
  }
  // A pointer (hashed or raw hex, maybe 0x-prefixed).
  let end = at;
  while (end < line.length) {
    const c = line.charCodeAt(end);
    if (c === 44 /* , */ || c === 32) break;
    end++;
  }
  if (end === at) return null;
  return { fence: line.slice(at, end), context: NaN, seqno: NaN, numeric: false, end };
}

/** A drm_sched job event (queue / run, all generations). */
export interface JobPayload {
  ring: string;
  dev: string;
  fence: SchedFence;
  /** Legacy / transitional per-scheduler job id, or -1. */
  id: number;
  jobCount: number;
  hwJobCount: number;
  clientId: number;
  /** Transitional `dependencies:{(context:A, seqno:B),...}`. */
  deps: SchedFence[];
}

function fieldAt(line: string, key: string, from: number): number {
  const i = line.indexOf(key, from);
  return i < 0 ? -1 : i + key.length;
}

/** Text from `at` to the next `, ` (or the end). */
function textTo(line: string, at: number): string {
  const e = line.indexOf(', ', at);
  return line.slice(at, e < 0 ? line.length : e);
}

/**
 * `drm_sched_job_queue` / `_run` (6.17: `dev=%s, fence=%llu:%llu, ring=%s,
 * job count:%u, hw job count:%d, client_id:%llu`), the legacy `drm_sched_job`
 * / `drm_run_job` (`entity=%p, id=%llu, fence=%p, ring=%s, job count:%u, hw
 * job count:%d`), the transitional layouts, and Perfetto's key=value form.
 */
export function readJob(line: string, from: number): JobPayload | string {
  if (isKeyValue(line, from)) {
    const m = keyValues(line, from);
    const ctx = num(m, 'fence_context');
    const seq = num(m, 'fence_seqno');
    let fence: SchedFence | null = null;
    if (ctx !== null && seq !== null)
      fence = { fence: `${ctx}:${seq}`, context: ctx, seqno: seq, numeric: true, end: 0 };
    else if (m.has('fence')) fence = fenceAt(m.get('fence')!, 0);
    if (!fence) return 'drm_sched job event without a fence';
    return {
      ring: m.get('name') ?? m.get('ring') ?? '?',
      dev: m.get('dev') ?? '',
      fence,
      id: num(m, 'id') ?? -1,
      jobCount: num(m, 'job_count') ?? 0,
      hwJobCount: num(m, 'hw_job_count') ?? 0,
      clientId: num(m, 'client_id') ?? 0,
      deps: [],
    };
  }
  const f = fieldAt(line, 'fence=', from);
  if (f < 0) return 'drm_sched job event without fence=';
  const fence = fenceAt(line, f);
  if (!fence) return 'drm_sched job event with an unreadable fence=';
  const r = fieldAt(line, 'ring=', from);
  if (r < 0) return 'drm_sched job event without ring=';
  const d = startsAt(line, from, 'dev=') ? from + 4 : -1;
  const idAt = fieldAt(line, 'id=', from);
  const jc = fieldAt(line, 'job count:', from);
  const hw = fieldAt(line, 'hw job count:', from);
  const cl = fieldAt(line, 'client_id:', from);
  const id =
    idAt >= 0 && (idAt === from + 3 || line.charCodeAt(idAt - 4) === 32)
      ? uintAt(line, idAt)
      : null;
  const jcv = jc >= 0 ? uintAt(line, jc) : null;
  const hwv = hw >= 0 ? intAt(line, hw) : null;
  const clv = cl >= 0 ? uintAt(line, cl) : null;
  if (jc >= 0 && !jcv) return 'drm_sched job count is not a number';
  const deps: SchedFence[] = [];
  const dl = fieldAt(line, 'dependencies:{', from);
  if (dl >= 0) {
    let p = dl;
    while (line.charCodeAt(p) === 40) {
      const dep = fenceAt(line, p);
      if (!dep) return 'unreadable dependencies:{...}';
      deps.push(dep);
      p = dep.end;
      if (line.charCodeAt(p) === 44) p++;
    }
  }
  return {
    ring: textTo(line, r),
    dev: d >= 0 ? textTo(line, d) : '',
    fence,
    id: id ? id[0] : -1,
    jobCount: jcv ? jcv[0] : 0,
    hwJobCount: hwv ? hwv[0] : 0,
    clientId: clv ? clv[0] : 0,
    deps,
  };
}

/** `fence=%llu:%llu signaled` (6.17 `drm_sched_job_done`, legacy `drm_sched_process_job` with a pointer), or key=value. */
export function readDone(line: string, from: number): SchedFence | string {
  if (isKeyValue(line, from) && line.indexOf('fence_context=', from) >= 0) {
    const m = keyValues(line, from);
    const ctx = num(m, 'fence_context');
    const seq = num(m, 'fence_seqno');
    if (ctx === null || seq === null)
      return 'drm_sched_job_done without fence_context / fence_seqno';
    return { fence: `${ctx}:${seq}`, context: ctx, seqno: seq, numeric: true, end: 0 };
  }
  const f = fieldAt(line, 'fence=', from);
  if (f < 0) return 'drm_sched done event without fence=';
  return fenceAt(line, f) ?? 'drm_sched done event with an unreadable fence=';
}

/** A dependency event: the job's finished fence and the dependency. */
export interface DepPayload {
  job: SchedFence | null;
  ring: string;
  id: number;
  dep: { context: number; seqno: number };
}

/**
 * `drm_sched_job_add_dep` / `_unschedulable` (`fence=A:B depends on [unsignalled ]fence=C:D`),
 * legacy `drm_sched_job_wait_dep` (`job ring=%s, id=%llu, depends fence=%p, context=%llu, seq=%u`),
 * or key=value (`fence_context fence_seqno ctx seqno`).
 */
export function readDep(line: string, from: number): DepPayload | string {
  if (startsAt(line, from, 'job ring=')) {
    const ring = textTo(line, from + 9);
    const idAt = fieldAt(line, ', id=', from);
    const c = fieldAt(line, 'context=', from);
    const s = fieldAt(line, 'seq=', from);
    const id = idAt >= 0 ? uintAt(line, idAt) : null;
    const cv = c >= 0 ? uintAt(line, c) : null;
    const sv = s >= 0 ? uintAt(line, s) : null;
    if (!cv || !sv) return 'drm_sched_job_wait_dep without context= / seq=';
    return { job: null, ring, id: id ? id[0] : -1, dep: { context: cv[0], seqno: sv[0] } };
  }
  if (isKeyValue(line, from) && line.indexOf('fence_context=', from) >= 0) {
    const m = keyValues(line, from);
    const fc = num(m, 'fence_context');
    const fs = num(m, 'fence_seqno');
    const dc = num(m, 'ctx');
    const ds = num(m, 'seqno');
    if (fc === null || fs === null || dc === null || ds === null)
      return 'dependency event without its four fields';
    return {
      job: { fence: `${fc}:${fs}`, context: fc, seqno: fs, numeric: true, end: 0 },
      ring: '',
      id: -1,
      dep: { context: dc, seqno: ds },
    };
  }
  const f = fieldAt(line, 'fence=', from);
  const job = f >= 0 ? fenceAt(line, f) : null;
  if (!job) return 'dependency event without fence=';
  const g = fieldAt(line, 'fence=', job.end);
  const dep = g >= 0 ? fenceAt(line, g) : null;
  if (!dep?.numeric) return 'dependency event without the dependency fence=C:D';
  return { job, ring: '', id: -1, dep: { context: dep.context, seqno: dep.seqno } };
}

/** An amdgpu companion event. */
export interface AmdgpuPayload {
  ring: string;
  timeline: string;
  fence: string;
  numIbs: number;
}

/**
 * `amdgpu_cs_ioctl` / `amdgpu_sched_run_job`: 6.17 `timeline=%s,
 * fence=%llu:%llu, ring_name=%s, num_ibs=%u`, before `sched_job=%llu,
 * timeline=%s, context=%u, seqno=%u, ring_name=%s, num_ibs=%u`.
 */
export function readAmdgpuJob(line: string, from: number): AmdgpuPayload | string {
  const t = fieldAt(line, 'timeline=', from);
  const r = fieldAt(line, 'ring_name=', from);
  const n = fieldAt(line, 'num_ibs=', from);
  if (t < 0 || r < 0) return 'amdgpu job event without timeline= / ring_name=';
  let fence: string;
  const f = fieldAt(line, 'fence=', from);
  if (f >= 0) {
    const sf = fenceAt(line, f);
    if (!sf) return 'amdgpu job event with an unreadable fence=';
    fence = sf.fence;
  } else {
    const c = fieldAt(line, ' context=', from);
    const s = fieldAt(line, ' seqno=', from);
    const cv = c >= 0 ? uintAt(line, c) : null;
    const sv = s >= 0 ? uintAt(line, s) : null;
    if (!cv || !sv) return 'amdgpu job event without fence= or context= / seqno=';
    fence = `${cv[0]}:${sv[0]}`;
  }
  const nv = n >= 0 ? uintAt(line, n) : null;
  return { ring: textTo(line, r), timeline: textTo(line, t), fence, numIbs: nv ? nv[0] : 0 };
}

/** `amdgpu_ib_pipe_sync`: `job ring=%s need pipe sync to fence=%llu:%llu`. */
export function readPipeSync(line: string, from: number): { ring: string; fence: string } | string {
  const r = fieldAt(line, 'ring=', from);
  const f = fieldAt(line, 'fence=', from);
  if (r < 0 || f < 0) return 'amdgpu_ib_pipe_sync without ring= / fence=';
  const sp = line.indexOf(' need', r);
  const fence = fenceAt(line, f);
  if (!fence) return 'amdgpu_ib_pipe_sync with an unreadable fence=';
  return { ring: line.slice(r, sp < 0 ? line.length : sp), fence: fence.fence };
}

/** The last ring and device names seen (their strings are reused while they repeat). */
export interface NameCache {
  ring: string;
  dev: string;
}

function reuse(line: string, at: number, end: number, cached: string): string {
  return end - at === cached.length && startsAt(line, at, cached) ? cached : line.slice(at, end);
}

/**
 * Fast path for the 6.17 `drm_sched_job_queue` / `_run` layout, read left to
 * right in one pass (`dev=%s, fence=%llu:%llu, ring=%s, job count:%u, hw job
 * count:%d, client_id:%llu`) into `out` (reused: the caller copies what it
 * keeps), reusing the ring and device strings while they repeat. False when
 * the line has another layout (the general reader then takes it).
 */
export function readJob617(line: string, from: number, names: NameCache, out: JobPayload): boolean {
  if (!startsAt(line, from, 'dev=')) return false;
  const devEnd = line.indexOf(', fence=', from + 4);
  if (devEnd < 0) return false;
  const fAt = devEnd + 8;
  const aEnd = digitsEnd(line, fAt);
  if (aEnd < 0 || line.charCodeAt(aEnd) !== 58) return false;
  const bEnd = digitsEnd(line, aEnd + 1);
  if (bEnd < 0 || !startsAt(line, bEnd, ', ring=')) return false;
  const ringAt = bEnd + 7;
  const ringEnd = line.indexOf(', job count:', ringAt);
  if (ringEnd < 0) return false;
  const jcEnd = digitsEnd(line, ringEnd + 12);
  if (jcEnd < 0 || !startsAt(line, jcEnd, ', hw job count:')) return false;
  const neg = line.charCodeAt(jcEnd + 15) === 45;
  const hwEnd = digitsEnd(line, jcEnd + 15 + (neg ? 1 : 0));
  if (hwEnd < 0) return false;
  const clAt = startsAt(line, hwEnd, ', client_id:') ? hwEnd + 12 : -1;
  const clEnd = clAt >= 0 ? digitsEnd(line, clAt) : -1;
  const dev = reuse(line, from + 4, devEnd, names.dev);
  const ring = reuse(line, ringAt, ringEnd, names.ring);
  names.dev = dev;
  names.ring = ring;
  out.ring = ring;
  out.dev = dev;
  const f = out.fence;
  f.fence = line.slice(fAt, bEnd);
  f.context = digitsValue(line, fAt, aEnd);
  f.seqno = digitsValue(line, aEnd + 1, bEnd);
  f.numeric = true;
  f.end = bEnd;
  out.id = -1;
  out.jobCount = digitsValue(line, ringEnd + 12, jcEnd);
  const hw = digitsValue(line, jcEnd + 15 + (neg ? 1 : 0), hwEnd);
  out.hwJobCount = neg ? -hw : hw;
  out.clientId = clEnd >= 0 ? digitsValue(line, clAt, clEnd) : 0;
  if (out.deps.length > 0) out.deps = [];
  return true;
}

/** A `JobPayload` for `readJob617` to fill (one per reader, reused from record to record). */
export function newJobPayload(): JobPayload {
  return {
    ring: '',
    dev: '',
    fence: { fence: '', context: 0, seqno: 0, numeric: true, end: 0 },
    id: -1,
    jobCount: 0,
    hwJobCount: 0,
    clientId: 0,
    deps: [],
  };
}
