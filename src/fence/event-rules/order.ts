/**
 * Seqno order per fence context, judged from the event stream:
 *
 * - `fence.context_out_of_order`: a fence signals while a fence of the same
 *   context that its timeline passes first is still pending. "First" is the
 *   kernel's order for the context: 64-bit contexts compare plainly; a
 *   32-bit context is ordered the way its timeline passes points (a point
 *   is done once it is not later than the timeline's value, the
 *   `__dma_fence_is_later` rule that `timeline_fence_signaled` and the
 *   hardware fences use), from the most advanced position known (the latest
 *   signalled seqno, or the driver's completed seqno). So a sw_sync point
 *   created about 2^31 ahead of a pending one, which the timeline has
 *   already passed and signals at creation, is in order. Equal seqnos are
 *   one timeline point (sw_sync may initialise a duplicate it then frees
 *   silently): they never order each other.
 * - `fence.seqno_not_after_signalled`: a fence initialised on a context with
 *   a seqno not after the latest one already signalled there, and not
 *   signalled at once (sw_sync's points created behind the timeline are
 *   born signalled, which is fine); anything that compares it with the
 *   signalled one (dma_resv, dma_fence_unwrap_merge, drm_syncobj) takes it
 *   for completed.
 * - `fence.completed_seqno_backwards`: the driver's cached completed seqno of
 *   a context moves backwards.
 *
 * Only contexts whose init says `inOrder` are judged (model drivers declare
 * it; trace-check assumes it except for container and stub fences).
 */
import type {
  EventFinding,
  EventRule,
  EventRuleFactory,
  EventRuleOptions,
  FindingSink,
} from '../../check/index.ts';
import type { KernelEvent } from '../../kernel/index.ts';
import { fenceTableFor, indexAdd, indexRemove } from './table.ts';
import type { FenceEntry, FenceTable } from './table.ts';
import { advance, fenceLabel, later, newTimeline, sweep } from './timeline.ts';
import type { TimelineState } from './timeline.ts';

interface Context extends TimelineState {
  /**
   * Pending fences initialised in the stream, in init order: a list through
   * the entries' `orderPrev` / `orderNext` (their `orderPending` is set).
   */
  first: FenceEntry | null;
  last: FenceEntry | null;
  pendingCount: number;
  /** Pending fences by seqno, kept while there are many (built on demand; small lists are scanned). */
  bySeqno: Map<number, FenceEntry | FenceEntry[]> | null;
  lastInit: number | null;
  /** Every init was later than the one before (the fast path applies). */
  monotone: boolean;
  /** A fence initialised behind `head`: fine if it signals before anything else happens on the context. */
  suspect: FenceEntry | null;
  suspectHead: number;
  completed: number | null;
  completedStep: number;
}

const MAX_LISTED = 8;
/** Pending fences of a context searched in its list up to this many, through `bySeqno` past it. */
const LIST_MAX = 16;

class FenceOrderRule implements EventRule {
  readonly types = ['fence-init', 'fence-signal', 'fence-destroy', 'fence-completed'] as const;
  private readonly contexts = new Map<number, Context>();

  constructor(
    private readonly sink: FindingSink,
    private readonly table: FenceTable,
  ) {}

  private ctx(context: number): Context {
    let c = this.contexts.get(context);
    if (!c) {
      c = {
        ...newTimeline(),
        first: null,
        last: null,
        pendingCount: 0,
        bySeqno: null,
        lastInit: null,
        monotone: true,
        suspect: null,
        suspectHead: 0,
        completed: null,
        completedStep: 0,
      };
      this.contexts.set(context, c);
    }
    return c;
  }

  event(e: KernelEvent): void {
    // Only `types` arrive here.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (e.type) {
      case 'fence-init':
        this.init(e, this.table.see(e));
        break;
      case 'fence-signal':
        this.signal(e, this.table.see(e));
        break;
      case 'fence-destroy': {
        const f = this.table.see(e);
        const c = this.contexts.get(e.context);
        if (!c) return;
        if (c.suspect !== null && c.suspect.id === e.fence) c.suspect = null;
        else this.resolve(c, e);
        if (f.orderPending) this.drop(c, f);
        if (c.pendingCount === 0 && c.head === null && c.completed === null)
          this.contexts.delete(e.context);
        break;
      }
      case 'fence-completed':
        this.completed(e);
        break;
      default:
        break;
    }
  }

  end(): void {
    for (const [context, c] of this.contexts) this.resolve(c, null, context);
  }

  private init(e: Extract<KernelEvent, { type: 'fence-init' }>, f: FenceEntry): void {
    const c = this.ctx(e.context);
    this.resolve(c, e);
    c.driver = e.driver;
    c.timeline = e.timeline;
    c.seqno64 = e.seqno64;
    c.inOrder = e.inOrder;
    if (c.inOrder && c.head !== null && !later(c, e.seqno, c.head)) {
      c.suspect = f;
      c.suspectHead = c.head;
    }
    if (c.lastInit !== null && !later(c, e.seqno, c.lastInit)) c.monotone = false;
    c.lastInit = e.seqno;
    f.orderPending = true;
    f.orderRanked = c.inOrder;
    f.orderNext = null;
    f.orderPrev = c.last;
    if (c.last) c.last.orderNext = f;
    else c.first = f;
    c.last = f;
    c.pendingCount++;
    if (c.bySeqno) indexAdd(c.bySeqno, f);
    else if (c.pendingCount > LIST_MAX) {
      const m = new Map<number, FenceEntry | FenceEntry[]>();
      for (let x = c.first; x !== null; x = x.orderNext) indexAdd(m, x);
      c.bySeqno = m;
    }
  }

  /** The oldest pending fence initialised while the context was in order (usually the first). */
  private oldest(c: Context): FenceEntry | null {
    let x = c.first;
    while (x !== null && !x.orderRanked) x = x.orderNext;
    return x;
  }

  /** Forget pending fence `f`. */
  private drop(c: Context, f: FenceEntry): void {
    f.orderPending = false;
    if (f.orderPrev) f.orderPrev.orderNext = f.orderNext;
    else c.first = f.orderNext;
    if (f.orderNext) f.orderNext.orderPrev = f.orderPrev;
    else c.last = f.orderPrev;
    f.orderPrev = f.orderNext = null;
    c.pendingCount--;
    if (c.bySeqno) {
      indexRemove(c.bySeqno, f);
      if (c.pendingCount === 0) c.bySeqno = null;
    }
  }

  /** Other pending fences of the same point: a duplicate the driver dropped is that point too. */
  private dropTwins(c: Context, seqno: number): void {
    if (c.bySeqno) {
      const cur = c.bySeqno.get(seqno);
      if (cur === undefined) return;
      for (const x of Array.isArray(cur) ? [...cur] : [cur]) this.drop(c, x);
      return;
    }
    for (let x = c.first; x !== null;) {
      const next = x.orderNext;
      if (x.seqno === seqno) this.drop(c, x);
      x = next;
    }
  }

  /** Something else happened on the context: a fence initialised behind the timeline that is still pending is reported. */
  private resolve(c: Context, e: KernelEvent | null, context?: number): void {
    const s = c.suspect;
    if (!s) return;
    c.suspect = null;
    if (!s.orderPending) return;
    const ctx = e && 'context' in e ? (e.context as number) : (context ?? -1);
    this.report(
      {
        rule: 'fence.seqno_not_after_signalled',
        severity: 'warn',
        headline: `WARNING: fence ${fenceLabel(c, ctx, s.seqno)} initialised with a seqno not after ${c.suspectHead}, already signalled on its context`,
        body:
          `Seqnos of one context must increase: ${s.seqno} is not later than ${c.suspectHead} (${c.seqno64 ? '64-bit' : '32-bit wrap-around'} comparison), which already signalled, ` +
          'yet the new fence stays pending. dma_resv, dma_fence_unwrap_merge and drm_syncobj keep only the later fence of a context and will take this one for completed.',
        at: [s.initStep, ...(e ? [e.step] : [])],
        ...(e ? {} : { thread: null }),
        data: { context: ctx, seqno: s.seqno, signalled: c.suspectHead },
      },
      e,
    );
  }

  private signal(e: Extract<KernelEvent, { type: 'fence-signal' }>, f: FenceEntry): void {
    const c = this.ctx(e.context);
    if (c.suspect !== null && c.suspect.id === e.fence) c.suspect = null;
    else this.resolve(c, e);
    if (f.orderPending) {
      const first = c.inOrder && this.oldest(c) === f;
      this.drop(c, f);
      if (c.inOrder && c.pendingCount > 0 && !(first && c.monotone)) this.checkOrder(c, e);
      if (c.pendingCount > 0) this.dropTwins(c, e.seqno);
    }
    if (c.head === null || later(c, e.seqno, c.head)) c.head = e.seqno;
    advance(c, e.seqno);
  }

  private checkOrder(c: Context, e: Extract<KernelEvent, { type: 'fence-signal' }>): void {
    const origin = c.origin ?? e.seqno;
    const mine = sweep(c, origin, e.seqno);
    const earlier: FenceEntry[] = [];
    for (let q = c.first; q !== null; q = q.orderNext)
      if (q.seqno !== e.seqno && sweep(c, origin, q.seqno) < mine) earlier.push(q);
    if (earlier.length === 0) return;
    const more = earlier.length > MAX_LISTED ? `, and ${earlier.length - MAX_LISTED} more` : '';
    this.report(
      {
        rule: 'fence.context_out_of_order',
        severity: 'warn',
        headline: `WARNING: fence ${fenceLabel(c, e.context, e.seqno)} signalled while earlier fences of context ${e.context} are pending`,
        body:
          `All fences of one context must signal in seqno order (${c.seqno64 ? '64-bit' : '32-bit wrap-around'} comparison).\n` +
          `Signalled: seqno ${e.seqno}\nStill pending: ${earlier
            .slice(0, MAX_LISTED)
            .map((g) => `seqno ${g.seqno}`)
            .join(', ')}${more}`,
        at: [...earlier.map((g) => g.initStep), e.step],
        data: { context: e.context, seqno: e.seqno, pending: earlier.map((g) => g.seqno) },
      },
      e,
    );
  }

  private completed(e: Extract<KernelEvent, { type: 'fence-completed' }>): void {
    const c = this.ctx(e.context);
    this.resolve(c, e);
    c.seqno64 = e.seqno64;
    if (c.timeline === '?') c.timeline = e.timeline;
    const prev = c.completed;
    if (prev !== null && later(c, prev, e.seqno)) {
      this.report(
        {
          rule: 'fence.completed_seqno_backwards',
          severity: 'warn',
          headline: `WARNING: completed seqno of ${e.timeline} (context ${e.context}) went backwards from ${prev} to ${e.seqno}`,
          body:
            `The driver's cached completed seqno must only move forward (${e.seqno64 ? '64-bit' : '32-bit wrap-around'} comparison): ` +
            'fences between the two values were already reported complete and may have been signalled, and a fence compared with the cache now looks pending again. ' +
            'A stale write after a reset, or a comparison that ignores the 32-bit wrap, does this.',
          at: [c.completedStep, e.step],
          data: { context: e.context, from: prev, to: e.seqno },
        },
        e,
      );
    }
    c.completed = e.seqno;
    c.completedStep = e.step;
    advance(c, e.seqno);
  }

  private report(f: EventFinding, e: KernelEvent | null): void {
    this.sink.report(f, e);
  }
}

/** `fence.context_out_of_order`, `fence.seqno_not_after_signalled`, `fence.completed_seqno_backwards`. */
export const fenceOrderRule: EventRuleFactory = (sink, opts: EventRuleOptions) =>
  new FenceOrderRule(sink, fenceTableFor(opts));
