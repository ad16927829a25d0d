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
 *
 * Its pieces are in files of their own, below this one: the event names
 * and kinds (event-names.ts), the reused event objects (event-objects.ts),
 * the jobs and the maps they are found in (jobs.ts), the threads
 * (threads.ts) and the sinks' interfaces (sinks.ts).
 */
import { ENTRY_DESTROYED, FenceTable } from '../../fence/index.ts';
import type { FenceEntry } from '../../fence/index.ts';
import type { KernelEvent } from '../../kernel/index.ts';
import { startsAt } from './chars.ts';
import { BY_LENGTH, FAMILIES, K } from './event-names.ts';
import type { Known } from './event-names.ts';
import {
  newFenceDestroy,
  newFenceInit,
  newFenceSignal,
  newJobDone,
  newJobQueue,
  newJobRun,
  newScratch,
} from './event-objects.ts';
import type { Scratch } from './event-objects.ts';
import { FenceTails } from './fence-tails.ts';
import { JobTable } from './jobs.ts';
import type { JobRecord } from './jobs.ts';
import type { EventSink, LatencySink } from './sinks.ts';
import { ThreadTable } from './threads.ts';
import { readDepBytes, readDoneBytes, readFenceBytes, readJob617Bytes } from './payload-bytes.ts';
import {
  ascii,
  asciiString,
  bytesAt,
  matchAt,
  NAME_PLAIN,
  readNameAt,
  sameBytesAt,
} from './text-bytes.ts';
import type { ByteRecord } from './text-bytes.ts';
import './events.ts';
import type { RawRecord } from './record.ts';
import {
  newJobPayload,
  readJob617,
  readAmdgpuJob,
  readDep,
  readDone,
  readFence,
  readJob,
  readPipeSync,
} from './payload.ts';
import type { DepPayload, FencePayload, JobPayload, NameCache, SchedFence } from './payload.ts';

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

// The sinks' interfaces are in sinks.ts (below latency.ts, which implements one); still importable from here.
export type { EventSink, LatencySink } from './sinks.ts';

/** Turns records into typed events (see the file comment). */
export class TraceNormaliser {
  readonly stats: NormaliseStats = {
    unknown: new Map(),
    families: new Map(),
    unknownOrigin: 0,
    unknownJobs: 0,
    lost: [],
  };
  /** The threads (set in the constructor: new ones go to `emit` when events are kept). */
  private readonly threads: ThreadTable;
  private nextFence = 1;
  /** The jobs, and the maps their events find them in. */
  private readonly jobs = new JobTable();
  private readonly fp: FencePayload = { context: 0, seqno: 0, driver: '', timeline: '' };
  /** Recent fence lines up to their seqno (`recordBytes`). */
  private readonly tails = new FenceTails();
  /** Contexts the trace's own comments declare 64-bit or not in order (`run --ftrace` output). */
  readonly seqno64Contexts = new Set<number>();
  readonly unorderedContexts = new Set<number>();
  private lastNs = 0;

  /** Consumers of the frequent event types, resolved once (see `EventSink.of`). */
  private readonly toInit: (e: KernelEvent) => void;
  private readonly toSignal: (e: KernelEvent) => void;
  private readonly toDestroy: (e: KernelEvent) => void;
  private readonly toQueue: (e: KernelEvent) => void;
  private readonly toRun: (e: KernelEvent) => void;
  private readonly toDone: (e: KernelEvent) => void;
  /** Any event (the others). */
  private readonly emit: (e: KernelEvent) => void;

  constructor(
    sink: EventSink,
    private readonly malformed: (line: number, reason: string) => void,
    private readonly latency: LatencySink | null,
    /**
     * The consumer keeps the events (a Chrome trace): emit `thread-spawn`
     * events for new threads and a new object per event. Otherwise the
     * event objects of the frequent types are reused from record to record.
     */
    keepEvents: boolean,
    /**
     * The fences: the rule book's fence table (resolved by its caller),
     * resolved here (this is where a trace's fence ids are made) and shared
     * with the consumers.
     */
    readonly table: FenceTable = new FenceTable(true),
  ) {
    if (!table.resolvedByCaller)
      throw new Error(
        'TraceNormaliser: the fence table must be resolved by its caller (new FenceTable(true))',
      );
    this.emit = (e) => {
      sink.event(e);
    };
    this.threads = new ThreadTable(keepEvents ? this.emit : null);
    this.toInit = sink.of('fence-init');
    this.toSignal = sink.of('fence-signal');
    this.toDestroy = sink.of('fence-destroy');
    this.toQueue = sink.of('sched-job-queue');
    this.toRun = sink.of('sched-job-run');
    this.toDone = sink.of('sched-job-done');
    this.scratch = keepEvents ? null : newScratch();
  }

  private readonly scratch: Scratch | null;

  /** Records per family (index in `FAMILIES`), folded into `stats.families` by `flushStats`. */
  private readonly familyCounts: number[] = FAMILIES.map(() => 0);
  /** Records per unknown event name (`stats.unknown` at the end), and the last one counted. */
  private readonly unknownCounts = new Map<string, { n: number }>();
  private lastUnknown: { name: string; c: { n: number } } | null = null;
  private readonly names617: NameCache = { ring: '', dev: '' };
  /** The 6.17 job payload being read (reused). */
  private readonly job617 = newJobPayload();
  /** The fence of a done event, and a dependency event, as the byte readers fill them (reused). */
  private readonly doneFence: SchedFence = {
    fence: '',
    context: 0,
    seqno: 0,
    numeric: true,
    end: 0,
  };
  private readonly depPayload: DepPayload = {
    job: { fence: '', context: 0, seqno: 0, numeric: true, end: 0 },
    ring: '',
    id: -1,
    dep: { context: 0, seqno: 0 },
  };
  /** Names last read per context: a new init with the same names reuses the strings. */
  private readonly nameCache = new Map<
    number,
    { driver: string; timeline: string; bytes?: Uint8Array }
  >();

  /** Fold the per-family counters into `stats.families` (call at the end). */
  flushStats(): void {
    for (const k of this.stats.families.keys())
      this.stats.families.set(k, this.familyCounts[FAMILIES.indexOf(k)]!);
    for (const [k, c] of this.unknownCounts) this.stats.unknown.set(k, c.n);
  }

  /** A record of an event trace-check does not read: counted by name. */
  private unknownEvent(line: string, start: number, end: number): void {
    const last = this.lastUnknown;
    if (last !== null && last.name.length === end - start && startsAt(line, start, last.name)) {
      last.c.n++;
      return;
    }
    const name = line.slice(start, end);
    let c = this.unknownCounts.get(name);
    if (c === undefined) {
      c = { n: 0 };
      this.unknownCounts.set(name, c);
    }
    c.n++;
    this.lastUnknown = { name, c };
  }

  /** Time of the last record. */
  get endNs(): number {
    return this.lastNs;
  }

  /** The name of trace thread `tid` (as `comm-pid`). */
  threadNameOf(tid: number): string | null {
    return this.threads.nameOf(tid) ?? null;
  }

  /** A `[LOST N EVENTS]` marker. */
  lostEvents(lineNo: number, cpu: number, lost: number, tNs: number): void {
    this.stats.lost.push({ line: lineNo, cpu, lost });
    this.emit({ type: 'trace-lost', tNs, step: lineNo, tid: 0, cpu, lost });
  }

  /** One record; `comm` cuts the task's comm out of the line (called for new pids only). */
  record(r: RawRecord, comm: () => string): void {
    const line = r.line;
    const len = r.nameEnd - r.nameStart;
    const cands = len < BY_LENGTH.length ? BY_LENGTH[len] : undefined;
    let known: Known | undefined;
    if (cands !== undefined)
      for (const c of cands)
        if (startsAt(line, r.nameStart, c.name)) {
          known = c;
          break;
        }
    if (known === undefined) {
      this.unknownEvent(line, r.nameStart, r.nameEnd);
      return;
    }
    const kind = known.kind;
    const n = this.familyCounts[known.family]!;
    this.familyCounts[known.family] = n + 1;
    if (n === 0) this.stats.families.set(FAMILIES[known.family]!, 0);
    if (r.tNs > this.lastNs) this.lastNs = r.tNs;
    const tid = this.threads.tidOf(r, comm);
    if (kind < K.JOB_QUEUE) this.fenceRecord(r, kind, tid);
    else if (kind < K.AMDGPU_CS) this.jobRecord(r, kind, tid);
    else this.amdgpuRecord(r, kind, tid);
  }

  /**
   * One record read from the bytes of an ASCII line (`parseTextBytes`), for
   * the kernel's layouts of the frequent events. False, with nothing
   * changed, when its name or payload is in another form: the caller then
   * reads the line as text (`record`), which takes every form.
   */
  recordBytes(r: ByteRecord, comm: () => string): boolean {
    // Most fence lines repeat a recent one but for the seqno: event, context and names known.
    const tail = this.tails.find(r, this.fp);
    if (tail !== null) {
      if (tail.kind === K.FENCE_INIT) this.keepNames(this.fp);
      this.recordRead(r, tail.kind, tail.family, comm);
      return true;
    }
    const b = r.bytes;
    // The name, unless `parseTextBytes` read it; perf's layout and a line with no name go to the text path.
    if (r.nameEnd < 0 && readNameAt(b, r.nameStart, r.end, r) !== NAME_PLAIN) return false;
    const len = r.nameEnd - r.nameStart;
    const cands = len < BY_LENGTH.length ? BY_LENGTH[len] : undefined;
    let known: Known | undefined;
    if (cands !== undefined)
      for (const c of cands)
        if (sameBytesAt(r.view, r.nameStart, c.bytes, len)) {
          known = c;
          break;
        }
    if (known === undefined) {
      this.unknownEventBytes(b, r.nameStart, r.nameEnd);
      return true;
    }
    const kind = known.kind;
    const end = r.end;
    const at = r.payload;
    // Read the payload first: a form the byte readers do not take goes to the text path whole.
    if (kind < K.JOB_QUEUE) {
      const p = this.fp;
      if (!readFenceBytes(b, at, end, false, p)) return false;
      if (kind === K.FENCE_INIT) {
        // As `fenceRecord`: the context's names again, compared in place (`bytes` spells them).
        const cached = this.nameCache.get(p.context);
        if (cached?.bytes !== undefined && matchAt(b, at + 7, end, cached.bytes)) {
          p.driver = cached.driver;
          p.timeline = cached.timeline;
        } else {
          if (!readFenceBytes(b, at, end, true, p)) return false;
          this.nameCache.set(p.context, {
            driver: p.driver,
            timeline: p.timeline,
            bytes: ascii(`${p.driver} timeline=${p.timeline} context=`),
          });
        }
      }
    } else if (kind === K.JOB_QUEUE || kind === K.JOB_RUN) {
      if (!readJob617Bytes(b, at, end, this.names617, this.job617)) return false;
    } else if (kind === K.JOB_DONE) {
      if (!readDoneBytes(b, at, end, this.doneFence)) return false;
    } else if (kind === K.JOB_ADD_DEP || kind === K.JOB_UNSCHEDULABLE) {
      const d = this.depPayload;
      if (!readDepBytes(b, at, end, d.job!, d.dep)) return false;
    } else return false;
    if (kind < K.JOB_QUEUE) this.tails.keep(r, kind, known.family, this.fp);
    this.recordRead(r, kind, known.family, comm);
    return true;
  }

  /**
   * The context's names as an init read in full leaves them (`nameCache`):
   * the text path compares a line with them in place, so both paths must
   * hold the same names at every line, or a line only the text path reads
   * (a damaged one) could read differently.
   */
  private keepNames(p: FencePayload): void {
    const cached = this.nameCache.get(p.context);
    if (cached === undefined || cached.driver !== p.driver || cached.timeline !== p.timeline)
      this.nameCache.set(p.context, {
        driver: p.driver,
        timeline: p.timeline,
        bytes: ascii(`${p.driver} timeline=${p.timeline} context=`),
      });
  }

  /** A record of `kind` whose payload `recordBytes` read (into `fp`, `job617`, ...). */
  private recordRead(r: ByteRecord, kind: number, family: number, comm: () => string): void {
    const n = this.familyCounts[family]!;
    this.familyCounts[family] = n + 1;
    if (n === 0) this.stats.families.set(FAMILIES[family]!, 0);
    if (r.tNs > this.lastNs) this.lastNs = r.tNs;
    const tid = this.threads.tidOf(r, comm);
    if (kind < K.JOB_QUEUE) this.fenceEvent(r, kind, tid);
    else if (kind === K.JOB_QUEUE || kind === K.JOB_RUN)
      this.jobQueueRun(r, kind, tid, this.job617);
    else if (kind === K.JOB_DONE) this.jobDone(r, tid, this.doneFence);
    else this.jobDep(r, kind, tid, this.depPayload);
  }

  /** `unknownEvent` for a name in bytes. */
  private unknownEventBytes(b: Uint8Array, start: number, end: number): void {
    const last = this.lastUnknown;
    if (last !== null && last.name.length === end - start && bytesAt(b, start, end, last.name)) {
      last.c.n++;
      return;
    }
    const name = asciiString(b, start, end);
    let c = this.unknownCounts.get(name);
    if (c === undefined) {
      c = { n: 0 };
      this.unknownCounts.set(name, c);
    }
    c.n++;
    this.lastUnknown = { name, c };
  }

  // ------------------------------------------------------------------ fences

  /** An entry for an event of a fence initialised before the trace began. */
  private unknownFence(r: RawRecord, context: number, seqno: number, tid: number): FenceEntry {
    this.stats.unknownOrigin++;
    return this.table.newEntry(this.nextFence++, context, seqno, -1, r.tNs, tid, '?', '?');
  }

  /** Hand the event of `f` to the table, then to the consumers. */
  private emitFence(e: KernelEvent, f: FenceEntry, to: (e: KernelEvent) => void = this.emit): void {
    this.table.apply(e, f);
    to(e);
  }

  private fenceRecord(r: RawRecord, kind: number, tid: number): void {
    const p = this.fp;
    const init = kind === K.FENCE_INIT;
    const err = readFence(r.line, r.payload, false, p);
    if (!err && init) {
      // Most inits repeat their context's names: compare in place, cut strings only when they change
      // (in the kernel's layout, `driver=%s timeline=%s context=`; other forms are read whole).
      const cached = this.nameCache.get(p.context);
      const line = r.line;
      const at = r.payload + 7;
      if (
        cached &&
        startsAt(line, r.payload, 'driver=') &&
        startsAt(line, at, cached.driver) &&
        startsAt(line, at + cached.driver.length, ' timeline=') &&
        startsAt(line, at + cached.driver.length + 10, cached.timeline) &&
        startsAt(line, at + cached.driver.length + 10 + cached.timeline.length, ' context=')
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
    this.fenceEvent(r, kind, tid);
  }

  /** The fence event of record `r`, its payload read into `fp`. */
  private fenceEvent(r: RawRecord, kind: number, tid: number): void {
    if (kind === K.FENCE_INIT) this.fenceInit(r, tid);
    else if (kind === K.FENCE_SIGNAL) this.fenceSignal(r, tid);
    else if (kind === K.FENCE_DESTROY) this.fenceDestroy(r, tid);
    else this.fenceOther(r, kind, tid);
  }

  private fenceInit(r: RawRecord, tid: number): void {
    const p = this.fp;
    const context = p.context;
    const f = this.table.newEntry(
      this.nextFence++,
      context,
      p.seqno,
      r.lineNo,
      r.tNs,
      tid,
      p.driver,
      p.timeline,
    );
    this.latency?.init(context, p.driver, p.timeline);
    const e = this.scratch ? this.scratch.init : newFenceInit();
    e.tNs = r.tNs;
    e.step = r.lineNo;
    e.tid = tid;
    e.fence = f.id;
    e.context = context;
    e.seqno = p.seqno;
    e.driver = p.driver;
    e.timeline = p.timeline;
    e.seqno64 = this.seqno64Contexts.size > 0 && this.seqno64Contexts.has(context);
    e.inOrder =
      !(this.unorderedContexts.size > 0 && this.unorderedContexts.has(context)) &&
      inOrderContext(p.driver, p.timeline);
    this.emitFence(e, f, this.toInit);
  }

  private fenceSignal(r: RawRecord, tid: number): void {
    const { context, seqno } = this.fp;
    // A signal after the key's destroy goes to the destroyed fence.
    const f =
      this.table.findLive(context, seqno) ??
      this.table.findDestroyed(context, seqno) ??
      this.unknownFence(r, context, seqno, tid);
    if (!f.signalled && f.state !== ENTRY_DESTROYED && f.initStep >= 0)
      this.latency?.fence(context, f.driver, f.timeline, r.tNs - f.initNs);
    const e = this.scratch ? this.scratch.signal : newFenceSignal();
    e.tNs = r.tNs;
    e.step = r.lineNo;
    e.tid = tid;
    e.fence = f.id;
    e.context = context;
    e.seqno = seqno;
    e.timestampNs = r.tNs;
    this.emitFence(e, f, this.toSignal);
  }

  private fenceDestroy(r: RawRecord, tid: number): void {
    const { context, seqno } = this.fp;
    const f =
      this.table.findLiveToDestroy(context, seqno) ?? this.unknownFence(r, context, seqno, tid);
    const e = this.scratch ? this.scratch.destroy : newFenceDestroy();
    e.tNs = r.tNs;
    e.step = r.lineNo;
    e.tid = tid;
    e.fence = f.id;
    e.context = context;
    e.seqno = seqno;
    e.signalled = f.signalled;
    this.emitFence(e, f, this.toDestroy);
  }

  /** Emit, enable-signal, wait start and wait end: rarer, each a fresh object. */
  private fenceOther(r: RawRecord, kind: number, tid: number): void {
    const { context, seqno } = this.fp;
    const f = this.table.findLive(context, seqno) ?? this.unknownFence(r, context, seqno, tid);
    if (kind === K.FENCE_EMIT)
      this.emitFence(
        {
          type: 'fence-emit',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          fence: f.id,
          context,
          seqno,
        },
        f,
      );
    else if (kind === K.FENCE_ENABLE)
      this.emitFence(
        {
          type: 'fence-enable-signal',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          fence: f.id,
          context,
          seqno,
        },
        f,
      );
    else if (kind === K.FENCE_WAIT_START)
      this.emitFence(
        {
          type: 'fence-wait-start',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          fence: f.id,
          context,
          seqno,
          thread: this.threads.nameOfPid(r),
          timeout: null,
        },
        f,
      );
    else
      this.emitFence(
        {
          type: 'fence-wait-end',
          tNs: r.tNs,
          step: r.lineNo,
          tid,
          fence: f.id,
          context,
          seqno,
          thread: this.threads.nameOfPid(r),
          result: null,
        },
        f,
      );
  }

  /** Fences initialised in the trace and still unsignalled at its end. */
  pendingFences(): PendingFence[] {
    const out: PendingFence[] = [];
    for (const f of this.table.pendingEntries())
      out.push({
        context: f.context,
        seqno: f.seqno,
        driver: f.driver,
        timeline: f.timeline,
        line: f.initStep,
        initNs: f.initNs,
        thread: f.initTid > 0 ? (this.threads.nameOf(f.initTid) ?? '-') : '-',
      });
    return out.sort((a, b) => a.line - b.line);
  }

  // -------------------------------------------------------------------- jobs

  private jobRecord(r: RawRecord, kind: number, tid: number): void {
    if (
      kind === K.JOB_QUEUE ||
      kind === K.JOB_RUN ||
      kind === K.LEGACY_QUEUE ||
      kind === K.LEGACY_RUN
    ) {
      const p = readJob617(r.line, r.payload, this.names617, this.job617)
        ? this.job617
        : readJob(r.line, r.payload);
      if (typeof p === 'string') {
        this.malformed(r.lineNo, p);
        return;
      }
      this.jobQueueRun(r, kind, tid, p);
      return;
    }
    if (kind === K.JOB_DONE || kind === K.LEGACY_DONE) {
      const f = readDone(r.line, r.payload);
      if (typeof f === 'string') {
        this.malformed(r.lineNo, f);
        return;
      }
      this.jobDone(r, tid, f);
      return;
    }
    // add_dep, unschedulable, legacy wait_dep
    const d = readDep(r.line, r.payload);
    if (typeof d === 'string') {
      this.malformed(r.lineNo, d);
      return;
    }
    this.jobDep(r, kind, tid, d);
  }

  /** A queue or run event, its payload read into `p`. */
  private jobQueueRun(r: RawRecord, kind: number, tid: number, p: JobPayload): void {
    const queue = kind === K.JOB_QUEUE || kind === K.LEGACY_QUEUE;
    let job: JobRecord | undefined;
    if (p.fence.numeric) {
      job = this.jobs.find(p.fence);
      if (!job) {
        job = this.jobs.newJob(p.ring, p.fence.fence);
        this.jobs.keep(p.fence, job);
        if (!queue) this.stats.unknownJobs++;
      }
    } else {
      const key = `${p.ring}/${p.id}`;
      job = this.jobs.legacyById.get(key);
      if (!job || queue) {
        job = this.jobs.newJob(p.ring, p.fence.fence);
        this.jobs.legacyById.set(key, job);
        if (!queue) this.stats.unknownJobs++;
      }
      if (!queue) {
        this.jobs.legacyById.delete(key);
        job.fence = p.fence.fence;
        this.jobs.legacyByPtr.set(p.fence.fence, job);
      }
    }
    job.ring = p.ring;
    if (queue) {
      job.queueNs = r.tNs;
      const e = this.scratch ? this.scratch.queue : newJobQueue();
      e.tNs = r.tNs;
      e.step = r.lineNo;
      e.tid = tid;
      e.sched = p.ring;
      e.job = job.id;
      e.fence = job.fence;
      e.dev = p.dev;
      e.jobCount = p.jobCount;
      e.hwJobCount = p.hwJobCount;
      e.clientId = p.clientId;
      this.toQueue(e);
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
      const e = this.scratch ? this.scratch.run : newJobRun();
      e.tNs = r.tNs;
      e.step = r.lineNo;
      e.tid = tid;
      e.sched = p.ring;
      e.job = job.id;
      e.fence = job.fence;
      e.dev = p.dev;
      e.jobCount = p.jobCount;
      e.hwJobCount = p.hwJobCount;
      e.clientId = p.clientId;
      this.toRun(e);
    }
  }

  /** A done event of the job whose fence is `f`. */
  private jobDone(r: RawRecord, tid: number, f: SchedFence): void {
    let job: JobRecord | undefined;
    if (f.numeric) job = this.jobs.find(f);
    else {
      job = this.jobs.legacyByPtr.get(f.fence);
      this.jobs.legacyByPtr.delete(f.fence);
    }
    if (!job) {
      this.stats.unknownJobs++;
      job = this.jobs.newJob('?', f.fence);
      if (f.numeric) this.jobs.keep(f, job);
    }
    this.latency?.job(
      job.ring,
      job.queueNs >= 0 && job.runNs >= 0 ? job.runNs - job.queueNs : null,
      job.runNs >= 0 ? r.tNs - job.runNs : null,
    );
    const e = this.scratch ? this.scratch.done : newJobDone();
    e.tNs = r.tNs;
    e.step = r.lineNo;
    e.tid = tid;
    e.sched = job.ring;
    e.job = job.id;
    e.fence = job.fence;
    this.toDone(e);
    if (f.numeric) this.jobs.done.retire(job);
  }

  /** A dependency event (add_dep, unschedulable, legacy wait_dep). */
  private jobDep(r: RawRecord, kind: number, tid: number, d: DepPayload): void {
    let job: JobRecord | undefined;
    if (d.job) job = this.jobs.find(d.job);
    else job = this.jobs.legacyById.get(`${d.ring}/${d.id}`);
    if (!job) {
      this.stats.unknownJobs++;
      job = this.jobs.newJob(d.ring || '?', d.job?.fence ?? `${d.ring}/${d.id}`);
      if (d.job) this.jobs.keep(d.job, job);
      else this.jobs.legacyById.set(`${d.ring}/${d.id}`, job);
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
