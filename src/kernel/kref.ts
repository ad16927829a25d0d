import type { Kernel } from './kernel.ts';
import { callerSite } from './lockdep-map.ts';

/** One get or put on a kref, kept for lifetime reports. */
export interface KrefEvent {
  readonly op: 'init' | 'get' | 'put' | 'release';
  readonly count: number;
  readonly thread: string | null;
  readonly timeNs: number;
  readonly site: string | null;
}

/**
 * Observer of every kref in a kernel (the checker's object-lifetime tracker
 * implements it): leaks at the end of a run, use after the last put.
 */
export interface KrefTracker {
  created(ref: Kref): void;
  changed(ref: Kref, ev: KrefEvent): void;
}

const trackers = new WeakMap<Kernel, KrefTracker>();

/**
 * Install the lifetime tracker of `k` (one per kernel).
 *
 * @kernel none: installs the model's lifetime checker
 */
export function setKrefTracker(k: Kernel, tracker: KrefTracker | null): void {
  if (tracker) trackers.set(k, tracker);
  else trackers.delete(k);
}

/**
 * `struct kref` over `refcount_t`: explicit get/put so the model finds the
 * kernel's use-after-free and leak bugs although JavaScript has a GC.
 * `refcount_t` saturates and WARNs on addition to zero and on underflow; the
 * model reports both as splats.
 *
 * @kernel kref_init, kref_get, kref_put, kref_get_unless_zero (include/linux/kref.h), refcount_t
 */
export class Kref {
  refcount = 1;
  /** Get/put history, kept only while a tracker is installed. */
  history: KrefEvent[] | null = null;
  /**
   * The owner opts in to leak reports: an object still referenced when the
   * run ends is reported (`lifetime.leak`) by the installed tracker.
   */
  trackLeaks: boolean;

  /** `kref_init`. */
  constructor(
    readonly kernel: Kernel,
    /** What the object is, for reports (e.g. `dma_fence 3:17`). */
    readonly what: string,
    opts: { trackLeaks?: boolean } = {},
  ) {
    this.trackLeaks = opts.trackLeaks ?? false;
    const tr = trackers.get(kernel);
    if (tr) {
      this.history = [];
      this.record('init');
      tr.created(this);
    }
  }

  /** `kref_read`. */
  read(): number {
    return this.refcount;
  }

  /** `kref_get`: taking a reference on a released object is a use after free. */
  get(): void {
    if (this.refcount <= 0) {
      this.report('refcount.addition_on_0', 'refcount_t: addition on 0; use-after-free.');
      return;
    }
    this.refcount++;
    if (this.history) this.record('get');
  }

  /** `kref_get_unless_zero`: false if the object is already being released. */
  getUnlessZero(): boolean {
    if (this.refcount <= 0) return false;
    this.get();
    return true;
  }

  /**
   * `kref_put`: drop a reference; calls `release` and returns true when it
   * was the last one. A put below zero is an underflow (use after free).
   */
  put(release?: (ref: Kref) => void): boolean {
    if (this.refcount <= 0) {
      this.report('refcount.underflow', 'refcount_t: underflow; use-after-free.');
      return false;
    }
    this.refcount--;
    if (this.history) this.record(this.refcount === 0 ? 'release' : 'put');
    const hb = this.kernel.hb;
    if (this.refcount === 0) {
      // The final put sees everything the other holders did before their puts.
      if (hb !== null) hb.acquire(this.kernel.currentOrNull, this);
      release?.(this);
      return true;
    }
    if (hb !== null) hb.release(this.kernel.currentOrNull, this);
    return false;
  }

  /** True after the last put: any use of the object is a use after free. */
  get released(): boolean {
    return this.refcount <= 0;
  }

  /** Report a use of the object after its release (callers check `released`). */
  useAfterFree(op: string): void {
    this.report('refcount.use_after_free', `BUG: KASAN: use-after-free in ${op}`);
  }

  private record(op: KrefEvent['op']): void {
    const k = this.kernel;
    const ev: KrefEvent = {
      op,
      count: this.refcount,
      thread: k.currentOrNull?.name ?? null,
      timeNs: k.nowNs,
      site: k.captureStacks ? callerSite(3) : null,
    };
    this.history!.push(ev);
    trackers.get(k)?.changed(this, ev);
  }

  private report(rule: string, headline: string): void {
    const h = this.history;
    this.kernel.splat({
      rule,
      severity: 'warn',
      headline,
      body:
        `object: ${this.what}` +
        (h ? `\nget/put history:\n${h.map((e) => `  ${e.op} -> ${e.count} by ${e.thread ?? '?'} at ${e.timeNs} ns${e.site ? ` (${e.site})` : ''}`).join('\n')}` : ''),
      data: { object: this.what },
    });
  }
}
