/**
 * A fence's life from the event stream: init → signal (once) → destroy.
 *
 * - `fence.signalled_twice`: a second `signaled` event for one fence. The
 *   kernel's `dma_fence_signal` returns -EINVAL without a trace event, so a
 *   run of the model never shows one; a real trace does when a driver
 *   re-initialises a signalled fence or its tracepoint fires twice.
 * - `fence.signalled_after_destroy`: a `signaled` event after the fence's
 *   `destroy` (the last reference was gone: a use after free).
 * - `fence.released_with_pending_signals`: the signal comes right after the
 *   destroy on the same thread: `dma_fence_release` found callbacks queued
 *   on an unsignalled fence, WARNed and signalled it with -EDEADLK (the
 *   kernel traces `destroy` first, then `signaled`).
 *
 * Memory: three fields of each fence's entry in the stream's fence table
 * (which bounds how many fences it keeps, live and destroyed), and the
 * latest destroy per thread.
 */
import type {
  EventRule,
  EventRuleFactory,
  EventRuleOptions,
  FindingSink,
} from '../../check/index.ts';
import type { KernelEvent } from '../../kernel/index.ts';
import { ENTRY_DESTROYED, ENTRY_LIVE, fenceTableFor } from './table.ts';
import type { FenceEntry, FenceTable } from './table.ts';

/** Thread ids below this are kept in an array. */
const DENSE_TIDS = 1 << 16;

class FenceLifecycleRule implements EventRule {
  readonly types = ['fence-init', 'fence-signal', 'fence-destroy'] as const;
  /**
   * The fence each thread destroyed in its latest fence event, -1 (or a
   * hole) when that event was no destroy: the release path's signal follows
   * the destroy. By thread id (small integers in runs and traces); slots
   * are overwritten, never deleted.
   */
  private readonly lastDestroy: number[] = [];
  /** The same for thread ids past `DENSE_TIDS` (none in practice). */
  private readonly lastDestroyFar = new Map<number, number>();

  constructor(
    private readonly sink: FindingSink,
    private readonly table: FenceTable,
  ) {}

  private name(f: FenceEntry, context: number, seqno: number): string {
    return `${f.tl.driver}:${f.tl.timeline}:${context}:${seqno}`;
  }

  event(e: KernelEvent): void {
    let justDestroyed =
      e.tid < DENSE_TIDS ? this.lastDestroy[e.tid] : this.lastDestroyFar.get(e.tid);
    if (justDestroyed !== undefined && justDestroyed >= 0) this.setLastDestroy(e.tid, -1);
    else justDestroyed = -1;
    // Only `types` arrive here.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (e.type) {
      case 'fence-init':
        // A fresh entry: not signalled, not destroyed.
        this.table.see(e);
        break;
      case 'fence-signal':
        this.signal(e, this.table.see(e), justDestroyed === e.fence);
        break;
      case 'fence-destroy': {
        // The entry of a fence not live is new (first seen by its destroy).
        const f = this.table.see(e);
        f.destroyStep = e.step;
        f.pendingCallbacks = e.pendingCallbacks;
        this.setLastDestroy(e.tid, e.fence);
        break;
      }
      default:
        break;
    }
  }

  private setLastDestroy(tid: number, fence: number): void {
    if (tid >= DENSE_TIDS) {
      this.lastDestroyFar.set(tid, fence);
      return;
    }
    const a = this.lastDestroy;
    // Fill up to `tid` so the array stays dense (thread ids count from 0 or 1).
    while (a.length < tid) a.push(-1);
    a[tid] = fence;
  }

  private signal(
    e: Extract<KernelEvent, { type: 'fence-signal' }>,
    f: FenceEntry,
    inRelease: boolean,
  ): void {
    if (f.state === ENTRY_LIVE) {
      // Live, or first seen now (initialised before the stream began): judged from here.
      if (f.signalStep < 0) {
        f.signalStep = e.step;
        return;
      }
    } else if (f.state === ENTRY_DESTROYED) {
      if (inRelease && f.signalStep < 0 && f.pendingCallbacks !== false) {
        f.signalStep = e.step;
        this.sink.report(
          {
            rule: 'fence.released_with_pending_signals',
            severity: 'warn',
            headline: `WARNING: Fence ${this.name(f, e.context, e.seqno)} released with pending signals!`,
            body: 'The last reference was dropped while callbacks were queued; likely a refcounting bug. The fence is signalled with -EDEADLK.',
            at: [f.destroyStep, e.step],
            data: { context: e.context, seqno: e.seqno },
          },
          e,
        );
        return;
      }
      this.sink.report(
        {
          rule: 'fence.signalled_after_destroy',
          severity: 'bug',
          headline: `BUG: fence ${this.name(f, e.context, e.seqno)} signalled after it was destroyed`,
          body:
            'dma_fence_signal ran on a fence whose last reference was already dropped (dma_fence_destroy): a use after free. ' +
            'The signaller must hold its own reference until it has signalled (dma_fence_get when the fence is handed to the hardware, put after the signal).',
          at: [...(f.signalStep >= 0 ? [f.signalStep] : []), f.destroyStep, e.step],
          data: { context: e.context, seqno: e.seqno },
        },
        e,
      );
      return;
    } else return;
    this.sink.report(
      {
        rule: 'fence.signalled_twice',
        severity: 'warn',
        headline: `WARNING: fence ${this.name(f, e.context, e.seqno)} signalled twice`,
        body:
          'A fence signals exactly once: waiters and callbacks already ran at the first signal, and its timestamp and error were fixed then. ' +
          'A second signal means the fence was re-initialised while still in use, or two paths (IRQ and timeout, or reset) both completed it.',
        at: [f.signalStep, e.step],
        data: { context: e.context, seqno: e.seqno },
      },
      e,
    );
  }
}

/** `fence.signalled_twice`, `fence.signalled_after_destroy`. */
export const fenceLifecycleRule: EventRuleFactory = (sink, opts: EventRuleOptions) =>
  new FenceLifecycleRule(sink, fenceTableFor(opts));
