/**
 * From trace records to the model's typed events: the same `fence-*` and
 * `sched-job-*` events a run of the model emits, so the rule book's
 * consumers judge both. This is where a real trace's identities are made:
 *
 * - fences: `(context, seqno)` is not unique over time (stubs, sw_sync
 *   duplicates, reused seqnos), so each `init` makes a new fence id; later
 *   events go to the oldest unsignalled live fence of that key (or the
 *   latest one, which makes a second signal visible), and a signal after
 *   the key's destroy goes to the destroyed fence. Events of a fence never
 *   initialised in the trace (created before it began) get an id of their
 *   own and are counted as "unknown origin";
 * - jobs: 6.17 events name the finished fence (`context:seqno`); legacy ones
 *   name a per-scheduler id and a fence pointer that is reused after free,
 *   so queue and run pair on ring + id and run and done on the pointer, in
 *   order;
 * - threads: one per pid, named `comm-pid`, numbered in order of appearance.
 *
 * Memory is bounded by the live fences and jobs: destroyed fences and done
 * jobs are remembered in fixed-size windows, and signalled fences of traces
 * without `dma_fence_destroy` are forgotten oldest first past a bound.
 */
import type { KernelEvent } from '../../kernel/index.ts';
import './events.ts';
import type { RawRecord } from './record.ts';
import {
  readJob617,
  readAmdgpuJob,
  readDep,
  readDone,
  readFence,
  readJob,
  readPipeSync,
} from './payload.ts';
import type { FencePayload, NameCache } from './payload.ts';

/** Event kinds trace-check reads. */
const K = {
  FENCE_INIT: 1,
  FENCE_EMIT: 2,
  FENCE_ENABLE: 3,
  FENCE_SIGNAL: 4,
  FENCE_WAIT_START: 5,
  FENCE_WAIT_END: 6,
  FENCE_DESTROY: 7,
  JOB_QUEUE: 10,
  JOB_RUN: 11,
  JOB_DONE: 12,
  JOB_ADD_DEP: 13,
  JOB_UNSCHEDULABLE: 14,
  LEGACY_QUEUE: 20,
  LEGACY_RUN: 21,
  LEGACY_DONE: 22,
  LEGACY_WAIT_DEP: 23,
  AMDGPU_CS: 30,
  AMDGPU_RUN: 31,
  AMDGPU_PIPE_SYNC: 32,
} as const;

const NAMES: readonly (readonly [string, number, string])[] = [
  ['dma_fence_init', K.FENCE_INIT, 'dma_fence'],
  ['dma_fence_emit', K.FENCE_EMIT, 'dma_fence'],
  ['dma_fence_enable_signal', K.FENCE_ENABLE, 'dma_fence'],
  ['dma_fence_signaled', K.FENCE_SIGNAL, 'dma_fence'],
  ['dma_fence_wait_start', K.FENCE_WAIT_START, 'dma_fence'],
  ['dma_fence_wait_end', K.FENCE_WAIT_END, 'dma_fence'],
  ['dma_fence_destroy', K.FENCE_DESTROY, 'dma_fence'],
  // Before 4.10 the system was `fence`.
  ['fence_init', K.FENCE_INIT, 'dma_fence (pre-4.10 names)'],
  ['fence_emit', K.FENCE_EMIT, 'dma_fence (pre-4.10 names)'],
  ['fence_enable_signal', K.FENCE_ENABLE, 'dma_fence (pre-4.10 names)'],
  ['fence_signaled', K.FENCE_SIGNAL, 'dma_fence (pre-4.10 names)'],
  ['fence_wait_start', K.FENCE_WAIT_START, 'dma_fence (pre-4.10 names)'],
  ['fence_wait_end', K.FENCE_WAIT_END, 'dma_fence (pre-4.10 names)'],
  ['fence_destroy', K.FENCE_DESTROY, 'dma_fence (pre-4.10 names)'],
  ['drm_sched_job_queue', K.JOB_QUEUE, 'gpu_scheduler 6.17'],
  ['drm_sched_job_run', K.JOB_RUN, 'gpu_scheduler 6.17'],
  ['drm_sched_job_done', K.JOB_DONE, 'gpu_scheduler 6.17'],
  ['drm_sched_job_add_dep', K.JOB_ADD_DEP, 'gpu_scheduler 6.17'],
  ['drm_sched_job_unschedulable', K.JOB_UNSCHEDULABLE, 'gpu_scheduler 6.17'],
  ['drm_sched_job', K.LEGACY_QUEUE, 'gpu_scheduler legacy'],
  ['drm_run_job', K.LEGACY_RUN, 'gpu_scheduler legacy'],
  ['drm_sched_process_job', K.LEGACY_DONE, 'gpu_scheduler legacy'],
  ['drm_sched_job_wait_dep', K.LEGACY_WAIT_DEP, 'gpu_scheduler legacy'],
  ['amd_sched_job', K.LEGACY_QUEUE, 'gpu_sched (<= 4.14)'],
  ['amd_sched_process_job', K.LEGACY_DONE, 'gpu_sched (<= 4.14)'],
  ['amdgpu_cs_ioctl', K.AMDGPU_CS, 'amdgpu'],
  ['amdgpu_sched_run_job', K.AMDGPU_RUN, 'amdgpu'],
  ['amdgpu_ib_pipe_sync', K.AMDGPU_PIPE_SYNC, 'amdgpu'],
];

/** Candidates by name length: a record's kind is found without cutting its name out. */
const BY_LENGTH = new Map<number, (readonly [string, number, string])[]>();
for (const n of NAMES) {
  const list = BY_LENGTH.get(n[0].length);
  if (list) list.push(n);
  else BY_LENGTH.set(n[0].length, [n]);
}

/** Drivers and timelines whose contexts do not signal in seqno order (containers, stubs). */
function inOrderContext(driver: string, timeline: string): boolean {
  return !(
    timeline === 'unbound' ||
    driver === 'dma_fence_array' ||
    driver === 'dma_fence_chain' ||
    driver === 'stub' ||
    driver === 'dma_fence_stub'
  );
}

interface FenceInstance {
  readonly id: number;
  readonly context: number;
  readonly seqno: number;
  signalled: boolean;
  /** Initialised in the trace (else: unknown origin). */
  readonly known: boolean;
  readonly initNs: number;
  readonly initLine: number;
  readonly driver: string;
  readonly timeline: string;
  readonly thread: string;
}

interface JobRecord {
  readonly id: number;
  ring: string;
  fence: string;
  queueNs: number;
  runNs: number;
}

/** Diagnostics and window effects gathered while normalising. */
export interface NormaliseStats {
  /** Records per event name that trace-check does not read. */
  readonly unknown: Map<string, number>;
  /** Records per event family read (`dma_fence`, `gpu_scheduler 6.17`, ...). */
  readonly families: Map<string, number>;
  /** Fence events whose fence was never initialised in the trace (window start). */
  unknownOrigin: number;
  /** Job events whose job was never queued in the trace. */
  unknownJobs: number;
  /** `[LOST N EVENTS]` markers: line and count. */
  readonly lost: { line: number; cpu: number; lost: number }[];
}

/** A fence still pending at the end of the trace. */
export interface PendingFence {
  readonly context: number;
  readonly seqno: number;
  readonly driver: string;
  readonly timeline: string;
  readonly line: number;
  readonly initNs: number;
  readonly thread: string;
}

/** A latency sample for the summary table. */
export interface LatencySink {
  init(context: number, driver: string, timeline: string): void;
  fence(context: number, driver: string, timeline: string, initToSignalNs: number | null): void;
  job(ring: string, queueToRunNs: number | null, runToDoneNs: number | null): void;
}

const MAX_DESTROYED = 1 << 12;
const MAX_LIVE = 1 << 17;
const KEEP_JOBS = 1 << 12;

/** Turns records into typed events (see the file comment). */
export class TraceNormaliser {
  readonly stats: NormaliseStats = {
    unknown: new Map(),
    families: new Map(),
    unknownOrigin: 0,
    unknownJobs: 0,
    lost: [],
  };
  private readonly threads = new Map<number, { tid: number; name: string }>();
  private readonly names: string[] = [];
  private nextTid = 1;
  private nextFence = 1;
  private nextJob = 1;
  /** Live fences: context → seqno → instance(s). */
  private readonly live = new Map<number, Map<number, FenceInstance | FenceInstance[]>>();
  private liveCount = 0;
  private readonly signalledRing: FenceInstance[] = [];
  private signalledHead = 0;
  private readonly destroyed = new Map<number, Map<number, number>>();
  private readonly destroyedCtx = new Float64Array(MAX_DESTROYED).fill(-1);
  private readonly destroyedSeq = new Float64Array(MAX_DESTROYED);
  private destroyedAt = 0;
  /** 6.17 jobs by finished fence text; legacy by `ring/id` and by fence pointer. */
  private readonly jobs = new Map<string, JobRecord>();
  private readonly legacyById = new Map<string, JobRecord>();
  private readonly legacyByPtr = new Map<string, JobRecord>();
  private readonly doneRing: string[] = [];
  private doneAt = 0;
  private readonly fp: FencePayload = { context: 0, seqno: 0, driver: '', timeline: '' };
  /** Contexts the trace's own comments declare 64-bit or not in order (`run --ftrace` output). */
  readonly seqno64Contexts = new Set<number>();
  readonly unorderedContexts = new Set<number>();
  private lastNs = 0;

  constructor(
    private readonly emit: (e: KernelEvent) => void,
    private readonly malformed: (line: number, reason: string) => void,
    private readonly latency: LatencySink | null,
    /** Emit `thread-spawn` events for new threads (the Chrome trace needs them). */
    private readonly spawnEvents: boolean,
  ) {}

  private readonly familyCount = new Map<string, { n: number }>();
  private readonly names617: NameCache = { ring: '', dev: '' };
  /** Names last read per context: a new init with the same names reuses the strings. */
  private readonly nameCache = new Map<number, { driver: string; timeline: string }>();

  /** Fold the per-family counters into `stats.families` (call at the end). */
  flushStats(): void {
    for (const [k, c] of this.familyCount) this.stats.families.set(k, c.n);
  }

  /** Time of the last record. */
  get endNs(): number {
    return this.lastNs;
  }

  private tidOf(r: RawRecord, comm: () => string): number {
    if (r.pid < 0) return 0;
    const t = this.threads.get(r.pid);
    if (t) return t.tid;
    const name = `${comm() || '<...>'}-${r.pid}`;
    const tid = this.nextTid++;
    this.threads.set(r.pid, { tid, name });
    this.names[tid] = name;
    if (this.spawnEvents)
      this.emit({
        type: 'thread-spawn',
        tNs: r.tNs,
        step: r.lineNo,
        tid: 0,
        thread: name,
        context: 'process',
        parent: null,
      });
    return tid;
  }

  /** The name of trace thread `tid` (as `comm-pid`). */
  threadNameOf(tid: number): string | null {
    return this.names[tid] ?? null;
  }

  private threadName(r: RawRecord): string {
    return this.threads.get(r.pid)?.name ?? (r.pid < 0 ? '-' : `<...>-${r.pid}`);
  }

  /** A `[LOST N EVENTS]` marker. */
  lostEvents(lineNo: number, cpu: number, lost: number, tNs: number): void {
    this.stats.lost.push({ line: lineNo, cpu, lost });
    this.emit({ type: 'trace-lost', tNs, step: lineNo, tid: 0, cpu, lost });
  }

  /** One record; `comm` cuts the task's comm out of the line (called for new pids only). */
  record(r: RawRecord, comm: () => string): void {
    const len = r.nameEnd - r.nameStart;
    const cands = BY_LENGTH.get(len);
    let kind = 0;
    let family = '';
    if (cands) {
      for (const c of cands) {
        if (r.line.startsWith(c[0], r.nameStart)) {
          kind = c[1];
          family = c[2];
          break;
        }
      }
    }
    if (kind === 0) {
      const name = r.line.slice(r.nameStart, r.nameEnd);
      this.stats.unknown.set(name, (this.stats.unknown.get(name) ?? 0) + 1);
      return;
    }
    const fam = this.familyCount.get(family);
    if (fam) fam.n++;
    else {
      const c = { n: 1 };
      this.familyCount.set(family, c);
      this.stats.families.set(family, 0);
    }
    if (r.tNs > this.lastNs) this.lastNs = r.tNs;
    const tid = this.tidOf(r, comm);
    if (kind < K.JOB_QUEUE) this.fenceRecord(r, kind, tid);
    else if (kind < K.AMDGPU_CS) this.jobRecord(r, kind, tid);
    else this.amdgpuRecord(r, kind, tid);
  }

  // ------------------------------------------------------------------ fences

  private instances(context: number, seqno: number): FenceInstance | FenceInstance[] | undefined {
    return this.live.get(context)?.get(seqno);
  }

  private addLive(f: FenceInstance): void {
    let m = this.live.get(f.context);
    if (!m) {
      m = new Map<number, FenceInstance | FenceInstance[]>();
      this.live.set(f.context, m);
    }
    const cur = m.get(f.seqno);
    if (cur === undefined) m.set(f.seqno, f);
    else if (Array.isArray(cur)) cur.push(f);
    else m.set(f.seqno, [cur, f]);
    this.liveCount++;
    if (this.liveCount > MAX_LIVE) this.forgetSignalled();
  }

  private removeLive(f: FenceInstance): void {
    const m = this.live.get(f.context);
    const cur = m?.get(f.seqno);
    if (!m || cur === undefined) return;
    if (Array.isArray(cur)) {
      const i = cur.indexOf(f);
      if (i < 0) return;
      cur.splice(i, 1);
      if (cur.length === 1) m.set(f.seqno, cur[0]!);
    } else if (cur === f) {
      m.delete(f.seqno);
      if (m.size === 0) this.live.delete(f.context);
    } else return;
    this.liveCount--;
  }

  /** Queue a signalled fence for forgetting (the queue is trimmed to live fences as it grows). */
  private noteSignalled(f: FenceInstance): void {
    const ring = this.signalledRing;
    ring.push(f);
    // Compact when it holds twice the live fences: amortised O(1), and bounded by the live fences.
    if (ring.length - this.signalledHead > 2 * this.liveCount + 4096) {
      const keep = ring
        .slice(this.signalledHead)
        .filter((x) => this.instances(x.context, x.seqno) !== undefined && this.isLive(x));
      ring.length = 0;
      for (const x of keep) ring.push(x);
      this.signalledHead = 0;
    }
  }

  private isLive(f: FenceInstance): boolean {
    const cur = this.instances(f.context, f.seqno);
    return Array.isArray(cur) ? cur.includes(f) : cur === f;
  }

  /** Past MAX_LIVE (traces without destroy events): forget the oldest signalled fences. */
  private forgetSignalled(): void {
    const ring = this.signalledRing;
    while (this.signalledHead < ring.length && this.liveCount > MAX_LIVE) {
      const f = ring[this.signalledHead++]!;
      this.removeLive(f);
    }
    if (this.signalledHead > 4096 && this.signalledHead * 2 > ring.length) {
      ring.splice(0, this.signalledHead);
      this.signalledHead = 0;
    }
  }

  /** The live fence an event of this key belongs to: the oldest unsignalled one, else the latest. */
  private find(context: number, seqno: number): FenceInstance | undefined {
    const cur = this.instances(context, seqno);
    if (cur === undefined || !Array.isArray(cur)) return cur;
    for (const f of cur) if (!f.signalled) return f;
    return cur[cur.length - 1];
  }

  private unknownFence(
    r: RawRecord,
    context: number,
    seqno: number,
    thread: string,
  ): FenceInstance {
    this.stats.unknownOrigin++;
    const f: FenceInstance = {
      id: this.nextFence++,
      context,
      seqno,
      signalled: false,
      known: false,
      initNs: r.tNs,
      initLine: r.lineNo,
      driver: '?',
      timeline: '?',
      thread,
    };
    this.addLive(f);
    return f;
  }

  private fenceRecord(r: RawRecord, kind: number, tid: number): void {
    const p = this.fp;
    const init = kind === K.FENCE_INIT;
    const err = readFence(r.line, r.payload, false, p);
    if (!err && init) {
      // Most inits repeat their context's names: compare in place, cut strings only when they change.
      const cached = this.nameCache.get(p.context);
      const line = r.line;
      const at = r.payload + 7;
      if (
        cached &&
        line.startsWith(cached.driver, at) &&
        line.startsWith(' timeline=', at + cached.driver.length) &&
        line.startsWith(cached.timeline, at + cached.driver.length + 10) &&
        line.startsWith(' context=', at + cached.driver.length + 10 + cached.timeline.length)
      ) {
        p.driver = cached.driver;
        p.timeline = cached.timeline;
      } else {
        const e2 = readFence(line, r.payload, true, p);
        if (e2) {
          this.malformed(r.lineNo, e2);
          return;
        }
        this.nameCache.set(p.context, { driver: p.driver, timeline: p.timeline });
      }
    }
    if (err) {
      this.malformed(r.lineNo, err);
      return;
    }
    const { context, seqno } = p;
    switch (kind) {
      case K.FENCE_INIT: {
        const f: FenceInstance = {
          id: this.nextFence++,
          context,
          seqno,
          signalled: false,
          known: true,
          initNs: r.tNs,
          initLine: r.lineNo,
          driver: p.driver,
          timeline: p.timeline,
          thread: this.threadName(r),
        };
        this.destroyed.get(context)?.delete(seqno);
        this.addLive(f);
        this.latency?.init(context, p.driver, p.timeline);
        this.emit({
          type: 'fence-init',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          fence: f.id,
          context,
          seqno,
          driver: p.driver,
          timeline: p.timeline,
          seqno64: this.seqno64Contexts.has(context),
          inOrder: !this.unorderedContexts.has(context) && inOrderContext(p.driver, p.timeline),
        });
        return;
      }
      case K.FENCE_SIGNAL: {
        let f = this.find(context, seqno);
        if (!f) {
          const gone = this.destroyed.get(context)?.get(seqno);
          if (gone !== undefined) {
            this.emit({
              type: 'fence-signal',
              tNs: r.tNs,
              step: r.lineNo,
              tid,
              fence: gone,
              context,
              seqno,
              error: 0,
              timestampNs: r.tNs,
              callbacks: 0,
            });
            return;
          }
          f = this.unknownFence(r, context, seqno, this.threadName(r));
        }
        if (!f.signalled) {
          f.signalled = true;
          this.noteSignalled(f);
          if (f.known) this.latency?.fence(context, f.driver, f.timeline, r.tNs - f.initNs);
        }
        this.emit({
          type: 'fence-signal',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          fence: f.id,
          context,
          seqno,
          error: 0,
          timestampNs: r.tNs,
          callbacks: 0,
        });
        return;
      }
      case K.FENCE_DESTROY: {
        const cur = this.instances(context, seqno);
        let f: FenceInstance | undefined;
        if (Array.isArray(cur)) f = cur.find((x) => x.signalled) ?? cur[0];
        else f = cur;
        if (!f) f = this.unknownFence(r, context, seqno, this.threadName(r));
        this.removeLive(f);
        this.rememberDestroyed(context, seqno, f.id);
        this.emit({
          type: 'fence-destroy',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          fence: f.id,
          context,
          seqno,
          signalled: f.signalled,
          pendingCallbacks: null,
        });
        return;
      }
      default: {
        const f =
          this.find(context, seqno) ?? this.unknownFence(r, context, seqno, this.threadName(r));
        if (kind === K.FENCE_EMIT)
          this.emit({
            type: 'fence-emit',
            tNs: r.tNs,
            step: r.lineNo,
            tid,
            fence: f.id,
            context,
            seqno,
          });
        else if (kind === K.FENCE_ENABLE)
          this.emit({
            type: 'fence-enable-signal',
            tNs: r.tNs,
            step: r.lineNo,
            tid,
            fence: f.id,
            context,
            seqno,
          });
        else if (kind === K.FENCE_WAIT_START)
          this.emit({
            type: 'fence-wait-start',
            tNs: r.tNs,
            step: r.lineNo,
            tid,
            fence: f.id,
            context,
            seqno,
            thread: this.threadName(r),
            timeout: null,
          });
        else
          this.emit({
            type: 'fence-wait-end',
            tNs: r.tNs,
            step: r.lineNo,
            tid,
            fence: f.id,
            context,
            seqno,
            thread: this.threadName(r),
            result: null,
          });
      }
    }
  }

  private rememberDestroyed(context: number, seqno: number, id: number): void {
    let m = this.destroyed.get(context);
    if (!m) {
      m = new Map<number, number>();
      this.destroyed.set(context, m);
    }
    m.set(seqno, id);
    const at = this.destroyedAt;
    const c = this.destroyedCtx[at]!;
    if (c >= 0) {
      const old = this.destroyed.get(c);
      if (old) {
        old.delete(this.destroyedSeq[at]!);
        if (old.size === 0) this.destroyed.delete(c);
      }
    }
    this.destroyedCtx[at] = context;
    this.destroyedSeq[at] = seqno;
    this.destroyedAt = (at + 1) % MAX_DESTROYED;
  }

  /** Fences initialised in the trace and still unsignalled at its end. */
  pendingFences(): PendingFence[] {
    const out: PendingFence[] = [];
    for (const m of this.live.values())
      for (const cur of m.values())
        for (const f of Array.isArray(cur) ? cur : [cur])
          if (f.known && !f.signalled)
            out.push({
              context: f.context,
              seqno: f.seqno,
              driver: f.driver,
              timeline: f.timeline,
              line: f.initLine,
              initNs: f.initNs,
              thread: f.thread,
            });
    return out.sort((a, b) => a.line - b.line);
  }

  // -------------------------------------------------------------------- jobs

  private newJob(ring: string, fence: string): JobRecord {
    return { id: this.nextJob++, ring, fence, queueNs: -1, runNs: -1 };
  }

  private retireJob(key: string): void {
    const ring = this.doneRing;
    if (ring.length < KEEP_JOBS) ring.push(key);
    else {
      const old = ring[this.doneAt]!;
      this.jobs.delete(old);
      ring[this.doneAt] = key;
      this.doneAt = (this.doneAt + 1) % KEEP_JOBS;
    }
  }

  private jobRecord(r: RawRecord, kind: number, tid: number): void {
    if (
      kind === K.JOB_QUEUE ||
      kind === K.JOB_RUN ||
      kind === K.LEGACY_QUEUE ||
      kind === K.LEGACY_RUN
    ) {
      const p = readJob617(r.line, r.payload, this.names617) ?? readJob(r.line, r.payload);
      if (typeof p === 'string') {
        this.malformed(r.lineNo, p);
        return;
      }
      const queue = kind === K.JOB_QUEUE || kind === K.LEGACY_QUEUE;
      let job: JobRecord | undefined;
      if (p.fence.numeric) {
        job = this.jobs.get(p.fence.fence);
        if (!job) {
          job = this.newJob(p.ring, p.fence.fence);
          this.jobs.set(p.fence.fence, job);
          if (!queue) this.stats.unknownJobs++;
        }
      } else {
        const key = `${p.ring}/${p.id}`;
        job = this.legacyById.get(key);
        if (!job || queue) {
          job = this.newJob(p.ring, p.fence.fence);
          this.legacyById.set(key, job);
          if (!queue) this.stats.unknownJobs++;
        }
        if (!queue) {
          this.legacyById.delete(key);
          job.fence = p.fence.fence;
          this.legacyByPtr.set(p.fence.fence, job);
        }
      }
      job.ring = p.ring;
      if (queue) {
        job.queueNs = r.tNs;
        this.emit({
          type: 'sched-job-queue',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          sched: p.ring,
          entity: '',
          job: job.id,
          fence: job.fence,
          dev: p.dev,
          jobCount: p.jobCount,
          hwJobCount: p.hwJobCount,
          clientId: p.clientId,
        });
        for (const d of p.deps)
          this.emit({
            type: 'sched-job-add-dep',
            tNs: r.tNs,
            step: r.lineNo,
            tid,
            sched: p.ring,
            job: job.id,
            fence: job.fence,
            depContext: d.context,
            depSeqno: d.seqno,
          });
      } else {
        if (job.runNs < 0) job.runNs = r.tNs;
        this.emit({
          type: 'sched-job-run',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          sched: p.ring,
          job: job.id,
          fence: job.fence,
          credits: 1,
          dev: p.dev,
          jobCount: p.jobCount,
          hwJobCount: p.hwJobCount,
          clientId: p.clientId,
        });
      }
      return;
    }
    if (kind === K.JOB_DONE || kind === K.LEGACY_DONE) {
      const f = readDone(r.line, r.payload);
      if (typeof f === 'string') {
        this.malformed(r.lineNo, f);
        return;
      }
      let job: JobRecord | undefined;
      if (f.numeric) job = this.jobs.get(f.fence);
      else {
        job = this.legacyByPtr.get(f.fence);
        this.legacyByPtr.delete(f.fence);
      }
      if (!job) {
        this.stats.unknownJobs++;
        job = this.newJob('?', f.fence);
        if (f.numeric) this.jobs.set(f.fence, job);
      }
      this.latency?.job(
        job.ring,
        job.queueNs >= 0 && job.runNs >= 0 ? job.runNs - job.queueNs : null,
        job.runNs >= 0 ? r.tNs - job.runNs : null,
      );
      this.emit({
        type: 'sched-job-done',
        tNs: r.tNs,
        step: r.lineNo,
        tid,
        sched: job.ring,
        job: job.id,
        fence: job.fence,
        result: 0,
      });
      if (f.numeric) this.retireJob(f.fence);
      return;
    }
    // add_dep, unschedulable, legacy wait_dep
    const d = readDep(r.line, r.payload);
    if (typeof d === 'string') {
      this.malformed(r.lineNo, d);
      return;
    }
    let job: JobRecord | undefined;
    if (d.job) job = this.jobs.get(d.job.fence);
    else job = this.legacyById.get(`${d.ring}/${d.id}`);
    if (!job) {
      this.stats.unknownJobs++;
      job = this.newJob(d.ring || '?', d.job?.fence ?? `${d.ring}/${d.id}`);
      if (d.job) this.jobs.set(d.job.fence, job);
      else this.legacyById.set(`${d.ring}/${d.id}`, job);
    }
    this.emit({
      type: kind === K.JOB_ADD_DEP ? 'sched-job-add-dep' : 'sched-job-unschedulable',
      tNs: r.tNs,
      step: r.lineNo,
      tid,
      sched: job.ring,
      job: job.id,
      fence: job.fence,
      depContext: d.dep.context,
      depSeqno: d.dep.seqno,
    });
  }

  private amdgpuRecord(r: RawRecord, kind: number, tid: number): void {
    if (kind === K.AMDGPU_PIPE_SYNC) {
      const p = readPipeSync(r.line, r.payload);
      if (typeof p === 'string') this.malformed(r.lineNo, p);
      else
        this.emit({
          type: 'amdgpu-ib-pipe-sync',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          ring: p.ring,
          fence: p.fence,
        });
      return;
    }
    const p = readAmdgpuJob(r.line, r.payload);
    if (typeof p === 'string') {
      this.malformed(r.lineNo, p);
      return;
    }
    this.emit({
      type: kind === K.AMDGPU_CS ? 'amdgpu-cs-ioctl' : 'amdgpu-sched-run-job',
      tNs: r.tNs,
      step: r.lineNo,
      tid,
      ...p,
    });
  }
}
