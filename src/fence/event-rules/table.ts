/**
 * One table of fences per event stream, shared by the rule book's fence
 * consumers and, for a real trace, by trace-check's normaliser: each fence
 * is one entry, found once per event, instead of every consumer keeping
 * its own map of fence ids (and the normaliser its own map of
 * `context:seqno`). Consumers keep what only they need in fields of the
 * entry and of their own per-context state.
 *
 * What the table itself knows: which fences are live (initialised or first
 * seen, not yet destroyed) in init order per context, which were destroyed
 * recently (a bounded window, for signals after the destroy), whether a
 * live fence signalled, and each context's names as its latest init gave
 * them. Memory is bounded by the live fences: destroyed fences are
 * remembered in a window, and past `MAX_LIVE` live fences (traces without
 * `dma_fence_destroy`) the oldest signalled ones are forgotten.
 *
 * Every consumer asks `see(e)` for the entry of a fence event; the first
 * ask applies the event to the table, later asks for the same event object
 * get the same entry (a producer that reuses event objects, as trace-check
 * does, applies each event itself before the consumers see it). A run of the model finds entries by fence id. The
 * normaliser of a trace makes the ids, so it resolves the entry itself
 * (`findLive` / `findDestroyed` / `newEntry`) and hands it over with
 * `apply(e, entry)` before the consumers see the event.
 *
 * @kernel none (the checkers' memory of `struct dma_fence` objects, keyed as the
 *         `dma_fence_*` tracepoints name them: context, seqno, and a per-stream id)
 */
import { RecentMap, RecentPairMap } from '../../check/index.ts';
import type { EventRuleOptions } from '../../check/index.ts';
import type { KernelEvent } from '../../kernel/index.ts';

/**
 * One fence (one init, or the first event of a fence initialised before the
 * stream began). A class, not an object literal: every entry has one hidden
 * class from birth, with each field's final representation, so making one
 * (one per init, 10^5 and more in a trace) is a plain allocation.
 *
 * @kernel struct dma_fence (the checkers' record of one, as its tracepoints name it)
 */
export class FenceEntry {
  /** A signal event was seen while it was live. */
  signalled = false;
  /** 0 until its first event is applied, then `ENTRY_LIVE`, `ENTRY_DESTROYED` or `ENTRY_FORGOTTEN`. */
  state = 0;
  /** Live list of its context, in init order. */
  prevLive: FenceEntry | null = null;
  nextLive: FenceEntry | null = null;
  /** `fence.signalled_twice` / `_after_destroy` (lifecycle consumer): step of the first signal, or -1. */
  signalStep = -1;
  /** Step of its destroy, or -1. */
  destroyStep = -1;
  /** The destroy event said callbacks were queued (null: unknown). */
  pendingCallbacks: boolean | null = null;
  /** Seqno order (order consumer): pending in its context's order list, with links in init order. */
  orderPending = false;
  /** Initialised while its context was declared in order (the order consumer's fast path). */
  orderRanked = false;
  orderPrev: FenceEntry | null = null;
  orderNext: FenceEntry | null = null;

  constructor(
    /** The id events name it by. */
    readonly id: number,
    readonly context: number,
    readonly seqno: number,
    /** Its context's state. */
    readonly tl: FenceTimeline,
    /** Step of its init; -1 when first seen by a later event (initialised before the stream began). */
    readonly initStep: number,
    /** Time of its init (or of the event that first showed it). */
    readonly initNs: number,
    /** Thread (`tid`) of that event. */
    readonly initTid: number,
    /** Names its init gave (`?` when first seen by a later event). */
    readonly driver: string,
    readonly timeline: string,
  ) {}
}

/** A fence context as the table knows it. */
export interface FenceTimeline {
  readonly context: number;
  /** Names its latest init gave (`?` until an init names them). */
  driver: string;
  timeline: string;
  /** Live entries in init order. */
  firstLive: FenceEntry | null;
  lastLive: FenceEntry | null;
  liveCount: number;
  /** Live entries by seqno, kept while the context has many (built on demand). */
  bySeqno: Map<number, FenceEntry | FenceEntry[]> | null;
}

/** `FenceEntry.state`: live (initialised or first seen, not destroyed). */
export const ENTRY_LIVE = 1;
/** `FenceEntry.state`: destroyed (kept in the window of destroyed fences). */
export const ENTRY_DESTROYED = 2;
/** `FenceEntry.state`: forgotten (replaced by a re-init, or past the bound of live fences). */
export const ENTRY_FORGOTTEN = 3;
const LIVE = ENTRY_LIVE;
const DESTROYED = ENTRY_DESTROYED;
const FORGOTTEN = ENTRY_FORGOTTEN;

/** Live fences kept before the oldest signalled ones are forgotten. */
const MAX_LIVE = 1 << 17;
/** Destroyed fences remembered (at least) for signals after their destroy. */
const MAX_DESTROYED = 1 << 12;
/** A context's live fences are searched in a list up to this many, through `bySeqno` past it. */
const LIST_MAX = 16;

/** The fence events the table reads (every consumer that uses it subscribes to these). */
export const FENCE_TABLE_TYPES = ['fence-init', 'fence-signal', 'fence-destroy'] as const;

/** A fence event the table reads. */
export type FenceTableEvent = Extract<KernelEvent, { type: (typeof FENCE_TABLE_TYPES)[number] }>;

/**
 * See the file comment.
 *
 * @kernel none: the checkers' memory of the stream's `struct dma_fence` objects
 */
export class FenceTable {
  /** Live entries by id (runs of the model; a normaliser resolves entries itself). */
  private readonly byId: Map<number, FenceEntry> | null;
  /** Destroyed entries by id / by `(context, seqno)`, the latest `MAX_DESTROYED` at least. */
  private readonly destroyedById: RecentMap<number, FenceEntry> | null;
  private readonly destroyedByKey: RecentPairMap<number, FenceEntry> | null;
  private readonly timelines = new Map<number, FenceTimeline>();
  private liveCount = 0;
  /** Signalled live entries, oldest first (forgotten first past `MAX_LIVE`). */
  private signalledLive: FenceEntry[] = [];
  private signalledHead = 0;
  private lastEvent: KernelEvent | null = null;
  private lastEntry: FenceEntry | null = null;
  private lastTimeline: FenceTimeline | null = null;

  /**
   * `resolvedByCaller`: entries are resolved by the stream's producer
   * (trace-check's normaliser) and handed over with `apply`; destroyed
   * fences are then found by `(context, seqno)`, not by id.
   */
  constructor(readonly resolvedByCaller = false) {
    this.byId = resolvedByCaller ? null : new Map();
    this.destroyedById = resolvedByCaller ? null : new RecentMap(MAX_DESTROYED);
    this.destroyedByKey = resolvedByCaller ? new RecentPairMap(MAX_DESTROYED) : null;
  }

  /** The context's state, created on first use. */
  timelineOf(context: number): FenceTimeline {
    const last = this.lastTimeline;
    if (last !== null && last.context === context) return last;
    let t = this.timelines.get(context);
    if (t === undefined) {
      t = {
        context,
        driver: '?',
        timeline: '?',
        firstLive: null,
        lastLive: null,
        liveCount: 0,
        bySeqno: null,
      };
      this.timelines.set(context, t);
    }
    this.lastTimeline = t;
    return t;
  }

  /** The context's state if it was ever seen. */
  findTimeline(context: number): FenceTimeline | undefined {
    return this.timelines.get(context);
  }

  /**
   * A new entry (not yet live): for an init (`initStep` = its step), or for
   * the first event of a fence initialised before the stream began
   * (`initStep` -1). A normaliser hands it to `apply` with that event.
   */
  newEntry(
    id: number,
    context: number,
    seqno: number,
    initStep: number,
    initNs: number,
    initTid: number,
    driver: string,
    timeline: string,
  ): FenceEntry {
    return new FenceEntry(
      id,
      context,
      seqno,
      this.timelineOf(context),
      initStep,
      initNs,
      initTid,
      driver,
      timeline,
    );
  }

  /** The entry of fence event `e`, applying `e` to the table the first time it is asked. */
  see(e: FenceTableEvent): FenceEntry {
    if (e === this.lastEvent) return this.lastEntry!;
    if (this.byId === null)
      throw new Error(
        `FenceTable.see: ${e.type} of fence ${e.fence} was not applied; a table resolved by its caller needs apply(e, entry) before the consumers see e`,
      );
    let f: FenceEntry | undefined;
    switch (e.type) {
      case 'fence-init':
        f = this.newEntry(e.fence, e.context, e.seqno, e.step, e.tNs, e.tid, e.driver, e.timeline);
        break;
      case 'fence-signal':
        f = this.byId.get(e.fence) ?? this.destroyedById!.get(e.fence);
        break;
      case 'fence-destroy':
        f = this.byId.get(e.fence);
        break;
    }
    // A fence first seen after its init (initialised before the stream began, or forgotten).
    f ??= this.newEntry(e.fence, e.context, e.seqno, -1, e.tNs, e.tid, '?', '?');
    this.apply(e, f);
    return f;
  }

  /**
   * Apply fence event `e` of entry `f` (found or made by the caller; see the
   * file comment). Events other than init, signal and destroy only make a
   * new entry live.
   */
  apply(e: KernelEvent, f: FenceEntry): void {
    this.lastEvent = e;
    this.lastEntry = f;
    if (f.state === 0) {
      if (e.type === 'fence-init') {
        const tl = f.tl;
        if (tl.driver !== e.driver) tl.driver = e.driver;
        if (tl.timeline !== e.timeline) tl.timeline = e.timeline;
        // A re-initialised fence (same id) replaces the live one.
        const old = this.byId?.get(f.id);
        if (old !== undefined) this.removeLive(old, FORGOTTEN);
      }
      this.addLive(f);
    }
    if (e.type === 'fence-signal') {
      if (f.state === LIVE && !f.signalled) {
        f.signalled = true;
        this.signalledLive.push(f);
        if (this.signalledLive.length - this.signalledHead > 2 * this.liveCount + 4096)
          this.compactSignalled();
      }
    } else if (e.type === 'fence-destroy') {
      // Entries reach a destroy live: a fence not live is first seen by its destroy (see, newEntry).
      if (f.state === LIVE) this.removeLive(f, DESTROYED);
      if (this.destroyedById) this.destroyedById.set(f.id, f);
      else this.destroyedByKey!.set(f.context, f.seqno, f);
    }
  }

  private addLive(f: FenceEntry): void {
    f.state = LIVE;
    this.byId?.set(f.id, f);
    const tl = f.tl;
    f.prevLive = tl.lastLive;
    f.nextLive = null;
    if (tl.lastLive) tl.lastLive.nextLive = f;
    else tl.firstLive = f;
    tl.lastLive = f;
    tl.liveCount++;
    if (tl.bySeqno) indexAdd(tl.bySeqno, f);
    else if (tl.liveCount > LIST_MAX) {
      const m = new Map<number, FenceEntry | FenceEntry[]>();
      for (let x = tl.firstLive; x !== null; x = x.nextLive) indexAdd(m, x);
      tl.bySeqno = m;
    }
    if (++this.liveCount > MAX_LIVE) this.forgetSignalled();
  }

  private removeLive(f: FenceEntry, state: number): void {
    const tl = f.tl;
    if (f.prevLive) f.prevLive.nextLive = f.nextLive;
    else tl.firstLive = f.nextLive;
    if (f.nextLive) f.nextLive.prevLive = f.prevLive;
    else tl.lastLive = f.prevLive;
    f.prevLive = f.nextLive = null;
    tl.liveCount--;
    if (tl.bySeqno) {
      indexRemove(tl.bySeqno, f);
      if (tl.liveCount === 0) tl.bySeqno = null;
    }
    if (this.byId?.get(f.id) === f) this.byId.delete(f.id);
    f.state = state;
    this.liveCount--;
  }

  /** Keep the queue of signalled live entries within twice the live ones (amortised O(1)). */
  private compactSignalled(): void {
    // In place: the array keeps its storage (no copy per compaction).
    const q = this.signalledLive;
    let kept = 0;
    for (let i = this.signalledHead; i < q.length; i++) {
      const x = q[i]!;
      if (x.state === LIVE) q[kept++] = x;
    }
    q.length = kept;
    this.signalledHead = 0;
  }

  /** Past MAX_LIVE (traces without destroy events): forget the oldest signalled fences. */
  private forgetSignalled(): void {
    const q = this.signalledLive;
    while (this.signalledHead < q.length && this.liveCount > MAX_LIVE) {
      const f = q[this.signalledHead++]!;
      if (f.state !== LIVE) continue;
      this.removeLive(f, FORGOTTEN);
      // A later event of this fence is of an unknown fence, not of an older destroyed one.
      this.destroyedById?.delete(f.id);
      this.destroyedByKey?.delete(f.context, f.seqno);
    }
    if (this.signalledHead > 4096 && this.signalledHead * 2 > q.length) {
      q.splice(0, this.signalledHead);
      this.signalledHead = 0;
    }
  }

  /**
   * The live fence an event of `(context, seqno)` belongs to: the oldest
   * unsignalled one, else the latest (which makes a second signal visible).
   */
  findLive(context: number, seqno: number): FenceEntry | undefined {
    const tl =
      this.lastTimeline?.context === context ? this.lastTimeline : this.timelines.get(context);
    if (tl === undefined || tl.liveCount === 0) return undefined;
    let latest: FenceEntry | undefined;
    if (tl.bySeqno) {
      const cur = tl.bySeqno.get(seqno);
      if (cur === undefined || !Array.isArray(cur)) return cur;
      for (const f of cur) if (!f.signalled) return f;
      return cur[cur.length - 1];
    }
    for (let f = tl.firstLive; f !== null; f = f.nextLive) {
      if (f.seqno !== seqno) continue;
      if (!f.signalled) return f;
      latest = f;
    }
    return latest;
  }

  /** The live fence a destroy of `(context, seqno)` belongs to: the oldest signalled one, else the oldest. */
  findLiveToDestroy(context: number, seqno: number): FenceEntry | undefined {
    const tl =
      this.lastTimeline?.context === context ? this.lastTimeline : this.timelines.get(context);
    if (tl === undefined || tl.liveCount === 0) return undefined;
    if (tl.bySeqno) {
      const cur = tl.bySeqno.get(seqno);
      if (cur === undefined || !Array.isArray(cur)) return cur;
      return cur.find((x) => x.signalled) ?? cur[0];
    }
    let first: FenceEntry | undefined;
    for (let f = tl.firstLive; f !== null; f = f.nextLive) {
      if (f.seqno !== seqno) continue;
      if (f.signalled) return f;
      first ??= f;
    }
    return first;
  }

  /** The latest destroyed fence of `(context, seqno)` still remembered (a table resolved by its caller). */
  findDestroyed(context: number, seqno: number): FenceEntry | undefined {
    return this.destroyedByKey?.get(context, seqno);
  }

  /** Live fences initialised in the stream and not signalled (oldest context first, init order). */
  *pendingEntries(): IterableIterator<FenceEntry> {
    for (const tl of this.timelines.values())
      for (let f = tl.firstLive; f !== null; f = f.nextLive)
        if (f.initStep >= 0 && !f.signalled) yield f;
  }
}

/**
 * A per-context seqno index (one entry, or several when seqnos repeat):
 * add `f` under its seqno. Shared by the table and the order rule.
 *
 * @kernel none: bookkeeping of the trace checker (no kernel structure indexes fences by seqno)
 */
export function indexAdd(m: Map<number, FenceEntry | FenceEntry[]>, f: FenceEntry): void {
  const cur = m.get(f.seqno);
  if (cur === undefined) m.set(f.seqno, f);
  else if (Array.isArray(cur)) cur.push(f);
  else m.set(f.seqno, [cur, f]);
}

/**
 * Remove `f` from a seqno index built by `indexAdd`.
 *
 * @kernel none: bookkeeping of the trace checker
 */
export function indexRemove(m: Map<number, FenceEntry | FenceEntry[]>, f: FenceEntry): void {
  const cur = m.get(f.seqno);
  if (cur === undefined) return;
  if (Array.isArray(cur)) {
    const i = cur.indexOf(f);
    if (i >= 0) cur.splice(i, 1);
    if (cur.length === 1) m.set(f.seqno, cur[0]!);
  } else if (cur === f) m.delete(f.seqno);
}

const TABLE_KEY = 'fence-table';

/**
 * The fence table of the stream `opts` belong to (shared by every consumer
 * built with the same `opts.shared`), or a table of the caller's own.
 *
 * @kernel none: checker machinery
 */
export function fenceTableFor(opts: EventRuleOptions): FenceTable {
  const shared = opts.shared;
  if (!shared) return new FenceTable();
  let t = shared.get(TABLE_KEY) as FenceTable | undefined;
  if (!t) {
    t = new FenceTable();
    shared.set(TABLE_KEY, t);
  }
  return t;
}

/**
 * Share `table` with the consumers built with `shared` (trace-check's
 * normaliser makes the table it resolves entries for).
 *
 * @kernel none: checker machinery
 */
export function shareFenceTable(shared: Map<string, unknown>, table: FenceTable): void {
  shared.set(TABLE_KEY, table);
}
