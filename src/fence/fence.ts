import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from '../check/index.ts';
import { Access, Errno, Kref, ktimeArg, MemLoc, SpinLock } from '../kernel/index.ts';
import type { Kernel, Thread } from '../kernel/index.ts';
import { cbAddTail, cbReset, cbUnlink } from './callback.ts';
import type { DmaFenceCb, DmaFenceFunc } from './callback.ts';
import './events.ts';
import {
  checkU64,
  ENABLE_SIGNAL,
  MAX_ERRNO,
  MODEL_INITIALIZED,
  MODEL_RULED,
  MODEL_OBSERVED,
  SEQNO64,
  SIGNALED,
  TIMESTAMP,
} from './flags.ts';
import { checkSignalledEarly, fenceName, fenceSplat, unobserve } from './rules.ts';
import { fenceLock, fenceUnlock } from './lock.ts';
import type { DmaFenceOps } from './ops.ts';
import { dmaFenceRelease } from './release.ts';
import { reportPutUninitialized } from './init-rules.ts';
import { dmaFenceIsLater } from './ordering.ts';
import { fenceId, fenceState } from './state.ts';
import { dmaFenceDefaultWait, dmaFenceWaitTimeout } from './wait.ts';

declare module './forward.ts' {
  /** The forward-declared fence type of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DmaFence's members
  interface DmaFence extends DmaFenceClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DmaFenceClass = DmaFence;

/** Kref that knows its fence, so one release function serves every fence. */
class FenceKref extends Kref {
  constructor(
    k: Kernel,
    what: string,
    readonly fence: DmaFence,
  ) {
    super(k, what, { trackLeaks: true });
  }
}

const releaseFenceKref = (ref: Kref): void => {
  if (ref instanceof FenceKref) dmaFenceRelease(ref.fence);
};

/**
 * `struct dma_fence`. Construct it with `new DmaFence(k, ops, lock, context,
 * seqno)` (`dma_fence_init`) or `dmaFenceInit64` for 64-bit seqno comparison;
 * drivers usually subclass it.
 *
 * `lock` may be shared by many fences; `null` selects an inline per-fence
 * lock created on first use (the newest kernels' embedded lock; the model's
 * containers use it). Seqnos and contexts are numbers in [0, 2^53].
 *
 * Locking in the model is the kernel's: the fence lock is taken with
 * `spin_lock_irqsave`, callbacks run synchronously with it held (atomic
 * context, the lock's lockdep class held), so a callback that sleeps or that
 * signals a fence sharing the lock through the unlocked form is reported.
 *
 * @kernel struct dma_fence, dma_fence_init (drivers/dma-buf/dma-fence.c)
 */
export class DmaFence {
  ops: DmaFenceOps;
  context: number;
  seqno: number;
  /** Atomic flag bits (`DmaFenceFlag`). */
  flags: number;
  /** 0 or a negative errno, set before signalling. */
  error = 0;
  /** `refcount`: starts at 1. */
  readonly refcount: Kref;
  /** Signal time in ns, valid once TIMESTAMP is set. */
  timestampNs = 0;
  /** @internal callback list (head and tail). */
  cbHead: DmaFenceCb | null = null;
  /** @internal */
  cbTail: DmaFenceCb | null = null;
  /** @internal declared signaller (model extension), see `dmaFenceSetSignaller`. */
  signaller: (() => readonly Thread[]) | null = null;
  /** @internal the instrumented location of `error` (created on first use with the race detector on). */
  errorLoc: MemLoc | null = null;
  /**
   * The last thing that happened to the fence (initialised, signalling
   * enabled, a callback added, waited on, an error set), by whom and when,
   * for reports of waits that never end. Recorded with the checkers on
   * (`kernel.hb`); null otherwise.
   */
  lastEvent: { what: string; thread: string | null; timeNs: number } | null = null;
  private lockRef: SpinLock | null;

  constructor(
    readonly kernel: Kernel,
    ops: DmaFenceOps,
    lock: SpinLock | null,
    context: number,
    seqno: number,
    /** Initial flags (`SEQNO64` for `dma_fence_init64`). */
    flags = 0,
    /**
     * false: allocate only; call `init(...)` later (containers, and subclasses
     * whose ops read their own fields, which are set after `super()`).
     */
    init = true,
  ) {
    this.ops = ops;
    this.lockRef = lock;
    this.context = context;
    this.seqno = seqno;
    this.flags = flags;
    this.refcount = new FenceKref(kernel, 'dma_fence', this);
    if (init) this.initCommon();
  }

  /**
   * `__dma_fence_init` on an allocated fence (constructed with `init =
   * false`): resets the state, then validates and emits `fence-init`.
   */
  init(
    ops: DmaFenceOps,
    lock: SpinLock | null,
    context: number,
    seqno: number,
    flags: number,
  ): void {
    this.ops = ops;
    this.lockRef = lock;
    this.context = context;
    this.seqno = seqno;
    this.flags = flags;
    this.error = 0;
    this.initCommon();
  }

  /** BUG_ON(missing names) is a thrown error here (library misuse), as are seqnos the model cannot represent. */
  private initCommon(): void {
    const ops = this.ops;
    // Name the kref for lifetime reports, only when a tracker records it (no cost otherwise).
    if (this.refcount.history !== null)
      (this.refcount as { what: string }).what = `dma_fence ${this.context}:${this.seqno}`;
    if (typeof ops?.getDriverName !== 'function' || typeof ops.getTimelineName !== 'function') {
      throw new Error(
        'dma_fence_init: ops.getDriverName and ops.getTimelineName are mandatory (the kernel BUGs without them)',
      );
    }
    if (!(Number.isSafeInteger(this.seqno) && this.seqno >= 0))
      checkU64('dma_fence seqno', this.seqno);
    if (!(Number.isSafeInteger(this.context) && this.context >= 0))
      checkU64('dma_fence context', this.context);
    this.flags |= MODEL_INITIALIZED;
    const k = this.kernel;
    if (k.hb !== null) {
      k.hb.alloc(this, { what: `dma_fence ${this.context}:${this.seqno}`, size: 64, fn: 'dma_fence_init' });
      this.noteEvent('initialised (dma_fence_init)');
    }
    // The fence layer's state installs the rule book's fence consumers on first use.
    fenceState(k);
    // The rule book reads the events of in-order fences always, of the others when traced.
    if (ops.inOrder === true) this.flags |= MODEL_RULED;
    const ruled = ops.inOrder === true;
    if (k.events.active || (ruled && k.events.wants('fence-init'))) {
      let driver: string;
      let timeline: string;
      try {
        driver = ops.getDriverName(this);
        timeline = ops.getTimelineName(this);
      } catch (e) {
        throw new Error(
          `dma_fence_init: the name ops failed (${e instanceof Error ? e.message : String(e)}). A subclass whose names read its own fields ` +
            'must construct with `init = false` and call `this.init(ops, lock, context, seqno, flags)` once those fields are set.',
          { cause: e },
        );
      }
      k.emit(
        'fence-init',
        {
          fence: fenceId(this),
          context: this.context,
          seqno: this.seqno,
          driver,
          timeline,
          seqno64: (this.flags & SEQNO64) !== 0,
          inOrder: ruled,
        },
        ruled,
      );
    }
  }

  /** The fence lock (`fence->lock`); an inline lock is created on first use. */
  get lock(): SpinLock {
    return (this.lockRef ??= new SpinLock(this.kernel, `&fence->inline_lock`, {
      key: this.ops.lockClass ?? 'dma_fence.inline_lock',
    }));
  }

  // ------------------------------------------------------------ references

  /**
   * @internal A use of the fence through the API (`op`): after the last put
   * it is a use after free (KASAN's report when the fence was poisoned,
   * else `refcount.use_after_free`).
   */
  use(op: string): void {
    if (this.refcount.refcount > 0) return;
    const k = this.kernel;
    const t = k.currentOrNull;
    if (k.hb !== null && t !== null && k.hb.isFreed(this)) k.hb.touch(t, this, op, false);
    else this.refcount.useAfterFree(op);
  }

  /** @internal Record `what` as the fence's last event (with the checkers on). */
  noteEvent(what: string): void {
    const k = this.kernel;
    if (k.hb === null) return;
    this.lastEvent = { what, thread: k.currentOrNull?.name ?? null, timeNs: k.nowNs };
  }

  /** @internal the location of `fence->error` for the race detector. */
  private errorAccess(kind: typeof Access.READ | typeof Access.WRITE, fn: string): void {
    const k = this.kernel;
    const hb = k.hb;
    const t = k.currentOrNull;
    if (hb === null || t === null) return;
    hb.access(t, (this.errorLoc ??= new MemLoc(`fence->error (${this.context}:${this.seqno})`, this, 4)), kind, fn);
  }

  /** `dma_fence_get`: +1, returns the fence. */
  get(): this {
    this.refcount.get();
    return this;
  }

  /** `dma_fence_get_rcu`: a reference unless the fence is already being released, else null. */
  getRcu(): this | null {
    return this.refcount.getUnlessZero() ? this : null;
  }

  /**
   * `dma_fence_put`: -1; the last put releases the fence (`dma_fence_release`).
   * A put of a fence that was never initialised is `fence.put_uninitialized`
   * (and is not carried out).
   */
  put(): void {
    if ((this.flags & MODEL_INITIALIZED) === 0) {
      reportPutUninitialized(this);
      return;
    }
    this.refcount.put(releaseFenceKref);
  }

  // ------------------------------------------------------------- queries

  /** True once SIGNALED is set (`dma_fence_test_signaled_flag`); never polls the driver. */
  get signalled(): boolean {
    return (this.flags & SIGNALED) !== 0;
  }

  /**
   * `dma_fence_is_signaled`: SIGNALED set, or the driver's `signaled` op says
   * so (then the fence is signalled here, running its callbacks). Never
   * enables signalling. Any context except with the fence lock held.
   */
  isSignaled(): boolean {
    if ((this.flags & SIGNALED) !== 0) {
      this.observedSignalled();
      return true;
    }
    const ops = this.ops;
    if (ops.signaled?.(this)) {
      this.signal();
      return true;
    }
    return false;
  }

  /** A caller that sees the fence signalled sees what the signaller did before signalling. */
  private observedSignalled(): void {
    const k = this.kernel;
    if (k.hb !== null) k.hb.acquire(k.currentOrNull, this);
  }

  /** `dma_fence_is_signaled_locked`: as `isSignaled`, fence lock held (signals with the `_locked` form). */
  isSignaledLocked(): boolean {
    if ((this.flags & SIGNALED) !== 0) return true;
    const ops = this.ops;
    if (ops.signaled?.(this)) {
      this.signalLocked();
      return true;
    }
    return false;
  }

  /** `dma_fence_get_status_locked`: 0 pending, 1 signalled, negative error. Fence lock held. */
  getStatusLocked(): number {
    if (this.isSignaledLocked()) {
      this.errorAccess(Access.READ, 'dma_fence_get_status');
      return this.error || 1;
    }
    return 0;
  }

  /** `dma_fence_get_status`: as `getStatusLocked`, taking the fence lock. */
  getStatus(): number {
    const lock = this.lock;
    const fl = fenceLock(lock);
    const status = this.getStatusLocked();
    fenceUnlock(lock, fl);
    return status;
  }

  /**
   * `dma_fence_set_error`: WARNs if already signalled (`fence.set_error_after_signal`)
   * or if `error` is not in [-MAX_ERRNO, -1] (`fence.set_error_invalid`); stores it anyway.
   */
  setError(error: number): void {
    const k = this.kernel;
    if ((this.flags & SIGNALED) !== 0) {
      fenceSplat(
        k,
        'fence.set_error_after_signal',
        `WARNING: dma_fence_set_error() on signalled fence ${fenceName(this)}`,
        `error ${error} set after the fence signalled: waiters already saw status ${this.error || 1}`,
        { context: this.context, seqno: this.seqno, error },
      );
    }
    if (!(error < 0 && error >= -MAX_ERRNO)) {
      fenceSplat(
        k,
        'fence.set_error_invalid',
        `WARNING: dma_fence_set_error(${error}) on ${fenceName(this)}: not a negative errno`,
        'dma_fence_set_error() takes a negative errno in [-MAX_ERRNO, -1] (e.g. -ENODATA, -ECANCELED, -ETIME)',
        { context: this.context, seqno: this.seqno, error },
      );
    }
    this.errorAccess(Access.WRITE, 'dma_fence_set_error');
    this.error = error;
    this.noteEvent(`error ${error} set`);
  }

  /**
   * `dma_fence_timestamp`: the signal time; WARNs (`fence.timestamp_unsignalled`)
   * and returns the current time if the fence has not signalled.
   */
  timestamp(): number {
    if ((this.flags & SIGNALED) === 0) {
      fenceSplat(
        this.kernel,
        'fence.timestamp_unsignalled',
        `WARNING: dma_fence_timestamp() on unsignalled fence ${fenceName(this)}`,
        '',
      );
      return this.kernel.nowNs;
    }
    return this.timestampNs;
  }

  /**
   * `dma_fence_driver_name`: the ops' name while unsignalled, "detached-driver"
   * once signalled (6.16+: drivers may free name storage after signalling).
   */
  driverName(): string {
    return (this.flags & SIGNALED) === 0 ? this.ops.getDriverName(this) : 'detached-driver';
  }

  /**
   * `dma_fence_timeline_name`: the ops' timeline name while unsignalled,
   * "signaled-timeline" once signalled. (The 6.17 snapshot read for this
   * model returns the driver name here by mistake; the model follows the
   * documented intent.)
   */
  timelineName(): string {
    return (this.flags & SIGNALED) === 0 ? this.ops.getTimelineName(this) : 'signaled-timeline';
  }

  /** `dma_fence_describe`: "driver timeline seq N [un]signalled" (6.17 format), one line with newline. */
  describe(): string {
    const timeline = this.timelineName();
    const driver = this.driverName();
    return `${driver} ${timeline} seq ${this.seqno} ${this.isSignaled() ? '' : 'un'}signalled\n`;
  }

  // ------------------------------------------------------------ signalling

  /**
   * `dma_fence_signal_timestamp_locked`: fence lock held. Returns -EINVAL
   * (silently, as the kernel does) if already signalled; otherwise sets
   * SIGNALED, detaches the callback list, stores `timestampNs`, sets
   * TIMESTAMP and runs every callback in FIFO order, each unlinked first.
   */
  signalTimestampLocked(timestampNs: number): number {
    if (this.kernel.validator !== null) this.lock.assertHeld();
    return this.signalCore(timestampNs);
  }

  /** @internal the body of `signalTimestampLocked`, without the lockdep assertion. */
  signalCore(timestampNs: number): number {
    const k = this.kernel;
    let flags = this.flags;
    if ((flags & SIGNALED) !== 0) return -Errno.EINVAL;
    flags |= SIGNALED;
    this.flags = flags;
    // Signal → every wait that returns and everyone who sees it signalled.
    if (k.hb !== null) k.hb.release(k.currentOrNull, this);
    let cb = this.cbHead;
    this.cbHead = this.cbTail = null;
    this.timestampNs = timestampNs;
    this.flags = flags | TIMESTAMP;
    if ((flags & MODEL_OBSERVED) !== 0) unobserve(this);
    if (this.ops.hwCompleted) checkSignalledEarly(this);
    // Ruled fences, and any fence signalled after its release (the rule book reports it).
    const ruled = (flags & MODEL_RULED) !== 0 || this.refcount.refcount <= 0;
    if (k.events.active || (ruled && k.events.wants('fence-signal')))
      this.emitSignal(cb, timestampNs, ruled);
    const tracing = k.events.active;
    if (cb === null) return 0;
    // Callbacks run synchronously under the fence lock: they cannot sleep (Kernel.sleeping).
    const t = k.currentOrNull;
    if (t !== null) t.syncDepth++;
    try {
      let index = 0;
      while (cb !== null) {
        const next: DmaFenceCb | null = cb.next;
        cb.next = cb.prev = null;
        cb.owner = null;
        if (tracing)
          k.emit('fence-callback', {
            fence: fenceId(this),
            context: this.context,
            seqno: this.seqno,
            index: index++,
          });
        cb.func!(this, cb);
        cb = next;
      }
    } finally {
      if (t !== null) t.syncDepth--;
    }
    return 0;
  }

  private emitSignal(head: DmaFenceCb | null, timestampNs: number, ruled: boolean): void {
    let n = 0;
    for (let c = head; c !== null; c = c.next) n++;
    this.kernel.emit(
      'fence-signal',
      {
        fence: fenceId(this),
        context: this.context,
        seqno: this.seqno,
        error: this.error,
        timestampNs,
        callbacks: n,
      },
      ruled,
    );
  }

  /** `dma_fence_signal_locked`: fence lock held; 0, or -EINVAL if already signalled. */
  signalLocked(): number {
    return this.signalTimestampLocked(this.kernel.nowNs);
  }

  /** `dma_fence_signal_timestamp`: takes the fence lock; 0, or -EINVAL if already signalled. */
  signalTimestamp(timestampNs: number): number {
    ktimeArg('DmaFence.signalTimestamp(timestampNs)', 'timestampNs', timestampNs);
    const lock = this.lock;
    const fl = fenceLock(lock);
    const ret = this.signalTimestampLocked(timestampNs);
    fenceUnlock(lock, fl);
    return ret;
  }

  /**
   * `dma_fence_signal`: opens a fence signalling section
   * (`dma_fence_begin_signalling`), takes the fence lock, signals with the
   * current time, unlocks, ends the section. 0 the first time, -EINVAL after.
   * Any context (callbacks run in it).
   */
  signal(): number {
    const k = this.kernel;
    if (this.refcount.refcount <= 0) this.use('dma_fence_signal');
    // Without lockdep the annotation is a no-op, as in a !CONFIG_LOCKDEP kernel.
    const cookie = k.validator !== null ? dmaFenceBeginSignalling(k) : true;
    const lock = this.lock;
    const fl = fenceLock(lock);
    const ret = this.signalTimestampLocked(k.nowNs);
    fenceUnlock(lock, fl);
    if (!cookie) dmaFenceEndSignalling(k, cookie);
    return ret;
  }

  // ------------------------------------------------------------- callbacks

  /**
   * `__dma_fence_enable_signaling` (fence lock held): sets ENABLE_SIGNAL;
   * runs the driver's `enable_signaling` the first time (signalling the fence
   * if it returns false). True while the fence is pending with a software
   * signal armed.
   */
  enableSignalingLocked(): boolean {
    const flags = this.flags;
    this.flags = flags | ENABLE_SIGNAL;
    if ((flags & SIGNALED) !== 0) return false;
    const ops = this.ops;
    if ((flags & ENABLE_SIGNAL) === 0) this.noteEvent('signalling enabled');
    if ((flags & ENABLE_SIGNAL) === 0 && ops.enableSignaling) {
      const k = this.kernel;
      if (k.events.wants('fence-enable-signal'))
        k.emit('fence-enable-signal', {
          fence: fenceId(this),
          context: this.context,
          seqno: this.seqno,
        });
      if (!ops.enableSignaling(this)) {
        this.signalLocked();
        return false;
      }
    }
    return true;
  }

  /** `dma_fence_enable_sw_signaling`: takes the lock and enables signalling. */
  enableSwSignaling(): void {
    if (this.refcount.refcount <= 0) this.use('dma_fence_enable_sw_signaling');
    const lock = this.lock;
    const fl = fenceLock(lock);
    this.enableSignalingLocked();
    fenceUnlock(lock, fl);
  }

  /**
   * `dma_fence_add_callback`: 0 when queued (at the tail: FIFO), -ENOENT if
   * the fence already signalled (the callback is then never called), -EINVAL
   * (with a WARN) without a function. Enables signalling.
   */
  addCallback<C extends DmaFenceCb>(cb: C, func: DmaFenceFunc<C>): number {
    if (typeof func !== 'function') {
      fenceSplat(
        this.kernel,
        'fence.invalid_argument',
        'WARNING: dma_fence_add_callback() without a callback function',
        '',
      );
      return -Errno.EINVAL;
    }
    if (this.refcount.refcount <= 0) this.use('dma_fence_add_callback');
    if ((this.flags & SIGNALED) !== 0) {
      cbReset(cb);
      return -Errno.ENOENT;
    }
    const lock = this.lock;
    const fl = fenceLock(lock);
    let ret = 0;
    if (this.enableSignalingLocked()) {
      cb.func = func as DmaFenceFunc;
      cbAddTail(this, cb);
      if (this.kernel.hb !== null) this.noteEvent('callback added');
    } else {
      cbReset(cb);
      ret = -Errno.ENOENT;
    }
    fenceUnlock(lock, fl);
    return ret;
  }

  /**
   * `dma_fence_remove_callback`: true if `cb` was still queued (now
   * unlinked), false if it already ran or was never queued.
   */
  removeCallback(cb: DmaFenceCb): boolean {
    const lock = this.lock;
    const fl = fenceLock(lock);
    const owner = cb.owner;
    if (owner !== null) cbUnlink(owner, cb);
    fenceUnlock(lock, fl);
    return owner !== null;
  }

  // ---------------------------------------------------------------- others

  /** `dma_fence_set_deadline`: forward the hint if the driver takes one and the fence is not signalled. */
  setDeadline(deadlineNs: number): void {
    ktimeArg('DmaFence.setDeadline(deadlineNs)', 'deadlineNs', deadlineNs);
    const ops = this.ops;
    if (ops.setDeadline && !this.isSignaled()) ops.setDeadline(this, deadlineNs);
  }

  /** `dma_fence_wait_timeout`. See `dmaFenceWaitTimeout`. Process context. */
  waitTimeout(intr: boolean, timeoutJiffies: number): Promise<number> {
    return dmaFenceWaitTimeout(this, intr, timeoutJiffies);
  }

  /** `dma_fence_wait`: 0 once signalled, or -ERESTARTSYS when interrupted (intr). Process context. */
  wait(intr: boolean): Promise<number> {
    return dmaFenceWaitTimeout(this, intr, Number.POSITIVE_INFINITY).then((ret) => (ret < 0 ? ret : 0));
  }

  /** `dma_fence_default_wait`. See `dmaFenceDefaultWait`. */
  defaultWait(intr: boolean, timeoutJiffies: number): Promise<number> {
    return dmaFenceDefaultWait(this, intr, timeoutJiffies);
  }

  /** `dma_fence_is_later(this, other)`. */
  isLater(other: DmaFence): boolean {
    return dmaFenceIsLater(this, other);
  }

  toString(): string {
    return `dma_fence ${this.context}:${this.seqno}`;
  }
}

/**
 * `dma_fence_init64`: a fence whose seqnos compare as plain 64-bit numbers (SEQNO64).
 *
 * @kernel dma_fence_init64
 */
export function dmaFenceInit64(
  k: Kernel,
  ops: DmaFenceOps,
  lock: SpinLock | null,
  context: number,
  seqno: number,
): DmaFence {
  return new DmaFence(k, ops, lock, context, seqno, SEQNO64);
}
