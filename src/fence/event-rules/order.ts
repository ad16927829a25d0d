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
import type { EventFinding, EventRule, EventRuleFactory, FindingSink } from '../../check/index.ts';
import type { KernelEvent } from '../../kernel/index.ts';
import { advance, fenceLabel, later, newTimeline, sweep } from './timeline.ts';
import type { TimelineState } from './timeline.ts';

interface Pending {
  readonly fence: number;
  readonly seqno: number;
  readonly step: number;
}

interface Context extends TimelineState {
  /** Pending fences initialised in the stream, in init order. */
  readonly pending: Map<number, Pending>;
  /** Pending fences by seqno, when one seqno has several (duplicates of one point). */
  readonly twins: Map<number, number[]>;
  /** Seqno → a pending fence with it (to find twins in O(1)). */
  readonly bySeqno: Map<number, number>;
  /** Fence ids in init order from `orderHead` on (signalled ones are skipped lazily). */
  order: number[];
  orderHead: number;
  lastInit: number | null;
  /** Every init was later than the one before (the fast path applies). */
  monotone: boolean;
  /** A fence initialised behind `head`: fine if it signals before anything else happens on the context. */
  suspect: Pending | null;
  suspectHead: number;
  completed: number | null;
  completedStep: number;
}

const MAX_LISTED = 8;

class FenceOrderRule implements EventRule {
  readonly types = ['fence-init', 'fence-signal', 'fence-destroy', 'fence-completed'] as const;
  private readonly contexts = new Map<number, Context>();

  constructor(private readonly sink: FindingSink) {}

  private ctx(context: number): Context {
    let c = this.contexts.get(context);
    if (!c) {
      c = {
        ...newTimeline(),
        pending: new Map(),
        twins: new Map(),
        bySeqno: new Map(),
        order: [],
        orderHead: 0,
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
        this.init(e);
        break;
      case 'fence-signal':
        this.signal(e);
        break;
      case 'fence-destroy': {
        const c = this.contexts.get(e.context);
        if (!c) return;
        if (c.suspect?.fence === e.fence) c.suspect = null;
        else this.resolve(c, e);
        this.drop(c, e.fence);
        if (c.pending.size === 0 && c.head === null && c.completed === null)
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

  private init(e: Extract<KernelEvent, { type: 'fence-init' }>): void {
    const c = this.ctx(e.context);
    this.resolve(c, e);
    c.driver = e.driver;
    c.timeline = e.timeline;
    c.seqno64 = e.seqno64;
    c.inOrder = e.inOrder;
    const p: Pending = { fence: e.fence, seqno: e.seqno, step: e.step };
    if (c.inOrder && c.head !== null && !later(c, e.seqno, c.head)) {
      c.suspect = p;
      c.suspectHead = c.head;
    }
    if (c.lastInit !== null && !later(c, e.seqno, c.lastInit)) c.monotone = false;
    c.lastInit = e.seqno;
    c.pending.set(e.fence, p);
    if (c.inOrder) c.order.push(e.fence);
    const other = c.bySeqno.get(e.seqno);
    if (other === undefined) c.bySeqno.set(e.seqno, e.fence);
    else {
      const list = c.twins.get(e.seqno);
      if (list) list.push(e.fence);
      else c.twins.set(e.seqno, [other, e.fence]);
    }
  }

  /** The oldest pending fence in init order (amortised O(1): signalled ones are skipped once). */
  private oldest(c: Context): number | undefined {
    const order = c.order;
    while (c.orderHead < order.length && !c.pending.has(order[c.orderHead]!)) c.orderHead++;
    if (c.orderHead > 1024 && c.orderHead * 2 > order.length) {
      c.order = order.slice(c.orderHead);
      c.orderHead = 0;
    }
    return c.order[c.orderHead];
  }

  /** Forget pending fence `fence`. */
  private drop(c: Context, fence: number): Pending | undefined {
    const p = c.pending.get(fence);
    if (!p) return undefined;
    c.pending.delete(fence);
    const list = c.twins.get(p.seqno);
    if (!list) {
      c.bySeqno.delete(p.seqno);
      return p;
    }
    const i = list.indexOf(fence);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 1) c.twins.delete(p.seqno);
    if (list.length > 0) c.bySeqno.set(p.seqno, list[0]!);
    else c.bySeqno.delete(p.seqno);
    return p;
  }

  /** Something else happened on the context: a fence initialised behind the timeline that is still pending is reported. */
  private resolve(c: Context, e: KernelEvent | null, context?: number): void {
    const s = c.suspect;
    if (!s) return;
    c.suspect = null;
    if (!c.pending.has(s.fence)) return;
    const ctx = e && 'context' in e ? (e.context as number) : (context ?? -1);
    this.report(
      {
        rule: 'fence.seqno_not_after_signalled',
        severity: 'warn',
        headline: `WARNING: fence ${fenceLabel(c, ctx, s.seqno)} initialised with a seqno not after ${c.suspectHead}, already signalled on its context`,
        body:
          `Seqnos of one context must increase: ${s.seqno} is not later than ${c.suspectHead} (${c.seqno64 ? '64-bit' : '32-bit wrap-around'} comparison), which already signalled, ` +
          'yet the new fence stays pending. dma_resv, dma_fence_unwrap_merge and drm_syncobj keep only the later fence of a context and will take this one for completed.',
        at: [s.step, ...(e ? [e.step] : [])],
        ...(e ? {} : { thread: null }),
        data: { context: ctx, seqno: s.seqno, signalled: c.suspectHead },
      },
      e,
    );
  }

  private signal(e: Extract<KernelEvent, { type: 'fence-signal' }>): void {
    const c = this.ctx(e.context);
    if (c.suspect?.fence === e.fence) c.suspect = null;
    else this.resolve(c, e);
    const p = c.pending.get(e.fence);
    if (p) {
      const first = c.inOrder && this.oldest(c) === e.fence;
      this.drop(c, e.fence);
      if (c.inOrder && c.pending.size > 0 && !(first && c.monotone)) this.checkOrder(c, e);
      // Other fences of the same point are that point too (a duplicate the driver dropped).
      const twins = c.twins.get(e.seqno);
      if (twins) for (const id of [...twins]) this.drop(c, id);
      else if (c.bySeqno.has(e.seqno)) this.drop(c, c.bySeqno.get(e.seqno)!);
    }
    if (c.head === null || later(c, e.seqno, c.head)) c.head = e.seqno;
    advance(c, e.seqno);
  }

  private checkOrder(c: Context, e: Extract<KernelEvent, { type: 'fence-signal' }>): void {
    const origin = c.origin ?? e.seqno;
    const mine = sweep(c, origin, e.seqno);
    const earlier: Pending[] = [];
    for (const q of c.pending.values())
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
        at: [...earlier.map((g) => g.step), e.step],
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
export const fenceOrderRule: EventRuleFactory = (sink) => new FenceOrderRule(sink);
