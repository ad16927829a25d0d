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
 * Memory: one small record per fence until its destroy; destroyed fences
 * are remembered in a bounded window, and signalled fences never destroyed
 * (traces without destroy events) are forgotten oldest first past a bound.
 */
import type { EventRule, EventRuleFactory, FindingSink } from '../../check/index.ts';
import type { KernelEvent } from '../../kernel/index.ts';

interface FenceRecord {
  readonly context: number;
  readonly seqno: number;
  /** Step of the first signal, or -1. */
  signalStep: number;
  destroyStep: number;
  /** The destroy event said callbacks were queued (null: unknown). */
  pendingCallbacks?: boolean | null;
}

/** Live fences kept before the oldest signalled ones are forgotten. */
const MAX_LIVE = 1 << 16;
/** Destroyed fences remembered for `fence.signalled_after_destroy`. */
const MAX_DESTROYED = 1 << 12;

class FenceLifecycleRule implements EventRule {
  readonly types = ['fence-init', 'fence-signal', 'fence-destroy'] as const;
  private readonly live = new Map<number, FenceRecord>();
  private readonly destroyed = new Map<number, FenceRecord>();
  /** `destroyed`'s ids, oldest first, as a ring (a Map deleted from the front gets slow to iterate). */
  private readonly destroyedRing: number[] = new Array<number>(MAX_DESTROYED).fill(-1);
  private destroyedAt = 0;
  /** Signalled live fences, oldest first (forgotten first past `MAX_LIVE`). */
  private signalledLive: number[] = [];
  private signalledHead = 0;
  private readonly names = new Map<number, string>();
  /** The fence each thread destroyed in its latest fence event (the release path's signal follows). */
  private readonly lastDestroy = new Map<number, number>();

  constructor(private readonly sink: FindingSink) {}

  private name(context: number, seqno: number): string {
    return `${this.names.get(context) ?? '?:?'}:${context}:${seqno}`;
  }

  event(e: KernelEvent): void {
    const justDestroyed = this.lastDestroy.get(e.tid);
    if (justDestroyed !== undefined) this.lastDestroy.delete(e.tid);
    // Only `types` arrive here.
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
    switch (e.type) {
      case 'fence-init': {
        const n = this.names.get(e.context);
        if (
          n === undefined ||
          n.length !== e.driver.length + e.timeline.length + 1 ||
          !n.startsWith(e.driver) ||
          !n.endsWith(e.timeline)
        )
          this.names.set(e.context, `${e.driver}:${e.timeline}`);
        this.destroyed.delete(e.fence);
        this.remember(
          { context: e.context, seqno: e.seqno, signalStep: -1, destroyStep: -1 },
          e.fence,
        );
        break;
      }
      case 'fence-signal':
        this.signal(e, justDestroyed === e.fence);
        break;
      case 'fence-destroy': {
        const r = this.live.get(e.fence) ?? {
          context: e.context,
          seqno: e.seqno,
          signalStep: -1,
          destroyStep: -1,
        };
        this.live.delete(e.fence);
        r.destroyStep = e.step;
        r.pendingCallbacks = e.pendingCallbacks;
        this.destroyed.set(e.fence, r);
        this.lastDestroy.set(e.tid, e.fence);
        const old = this.destroyedRing[this.destroyedAt]!;
        if (old >= 0 && this.destroyed.get(old)?.destroyStep !== undefined && old !== e.fence)
          this.destroyed.delete(old);
        this.destroyedRing[this.destroyedAt] = e.fence;
        this.destroyedAt = (this.destroyedAt + 1) % MAX_DESTROYED;
        break;
      }
      default:
        break;
    }
  }

  private remember(r: FenceRecord, fence: number): void {
    this.live.set(fence, r);
    if (r.signalStep >= 0) this.noteSignalled(fence);
    if (this.live.size <= MAX_LIVE) return;
    const q = this.signalledLive;
    while (this.signalledHead < q.length) {
      const id = q[this.signalledHead++]!;
      if (this.live.get(id)?.signalStep !== undefined && this.live.get(id)!.signalStep >= 0) {
        this.live.delete(id);
        break;
      }
    }
    if (this.signalledHead > 1024 && this.signalledHead * 2 > q.length) {
      this.signalledLive = q.slice(this.signalledHead);
      this.signalledHead = 0;
    }
  }

  /** Queue a signalled fence for forgetting; the queue keeps only fences still live. */
  private noteSignalled(fence: number): void {
    const q = this.signalledLive;
    q.push(fence);
    // Compact when it holds twice the live fences: amortised O(1), and bounded by the live fences.
    if (q.length - this.signalledHead > 2 * this.live.size + 4096) {
      this.signalledLive = q.slice(this.signalledHead).filter((id) => this.live.has(id));
      this.signalledHead = 0;
    }
  }

  private signal(e: Extract<KernelEvent, { type: 'fence-signal' }>, inRelease: boolean): void {
    const gone = this.destroyed.get(e.fence);
    if (gone && inRelease && gone.signalStep < 0 && gone.pendingCallbacks !== false) {
      gone.signalStep = e.step;
      this.sink.report(
        {
          rule: 'fence.released_with_pending_signals',
          severity: 'warn',
          headline: `WARNING: Fence ${this.name(e.context, e.seqno)} released with pending signals!`,
          body: 'The last reference was dropped while callbacks were queued; likely a refcounting bug. The fence is signalled with -EDEADLK.',
          at: [gone.destroyStep, e.step],
          data: { context: e.context, seqno: e.seqno },
        },
        e,
      );
      return;
    }
    if (gone) {
      this.sink.report(
        {
          rule: 'fence.signalled_after_destroy',
          severity: 'bug',
          headline: `BUG: fence ${this.name(e.context, e.seqno)} signalled after it was destroyed`,
          body:
            'dma_fence_signal ran on a fence whose last reference was already dropped (dma_fence_destroy): a use after free. ' +
            'The signaller must hold its own reference until it has signalled (dma_fence_get when the fence is handed to the hardware, put after the signal).',
          at: [...(gone.signalStep >= 0 ? [gone.signalStep] : []), gone.destroyStep, e.step],
          data: { context: e.context, seqno: e.seqno },
        },
        e,
      );
      return;
    }
    const r = this.live.get(e.fence);
    if (!r) {
      // Unknown origin (initialised before the stream began): remember it from here.
      this.remember(
        { context: e.context, seqno: e.seqno, signalStep: e.step, destroyStep: -1 },
        e.fence,
      );
      return;
    }
    if (r.signalStep < 0) {
      r.signalStep = e.step;
      this.noteSignalled(e.fence);
      return;
    }
    this.sink.report(
      {
        rule: 'fence.signalled_twice',
        severity: 'warn',
        headline: `WARNING: fence ${this.name(e.context, e.seqno)} signalled twice`,
        body:
          'A fence signals exactly once: waiters and callbacks already ran at the first signal, and its timestamp and error were fixed then. ' +
          'A second signal means the fence was re-initialised while still in use, or two paths (IRQ and timeout, or reset) both completed it.',
        at: [r.signalStep, e.step],
        data: { context: e.context, seqno: e.seqno },
      },
      e,
    );
  }
}

/** `fence.signalled_twice`, `fence.signalled_after_destroy`. */
export const fenceLifecycleRule: EventRuleFactory = (sink) => new FenceLifecycleRule(sink);
