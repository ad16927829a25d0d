import { Access, defineWdClass, Errno, ktimeArg, timeoutArg, U32_MAX, wholeArg, WwMutex } from '../kernel/index.ts';
import type {
  Kernel,
  WwAcquireCtx,
  WwLockInterruptibleResult,
  WwLockResult,
} from '../kernel/index.ts';
import { dmaFenceIsContainer, dmaFenceIsLaterOrSame } from '../fence/index.ts';
import type { DmaFence } from '../fence/index.ts';
import './events.ts';
import { reportAddWithoutReserve, reportNotLocked, reportUseAfterFini } from './rules.ts';
import { dmaResvListAlloc, dmaResvListFree, dmaResvListRetire, resvListAccess, roundupPowOfTwo } from './list.ts';
import type { DmaResvList } from './list.ts';
import { DmaResvIter } from './iter.ts';
import {
  dmaResvDescribe,
  dmaResvGetFences,
  dmaResvGetSingleton,
  dmaResvSetDeadline,
  dmaResvTestSignaled,
  dmaResvWaitTimeout,
} from './query.ts';
import { checkUsage, DmaResvUsage } from './usage.ts';

declare module './forward.ts' {
  /** The forward-declared `DmaResv` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DmaResv's members
  interface DmaResv extends DmaResvClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DmaResvClass = DmaResv;

/**
 * `reservation_ww_class`: the Wait-Die class of every reservation lock. One
 * module-level class; its stamp counter is per kernel, so runs replay.
 *
 * @kernel reservation_ww_class (DEFINE_WD_CLASS in drivers/dma-buf/dma-resv.c)
 */
export const reservationWwClass = defineWdClass('reservation_ww_class');

const resvIds = new WeakMap<Kernel, number>();

/** Per-kernel ids, so names replay identically however many kernels a process runs. */
function nextResvId(k: Kernel): number {
  const id = (resvIds.get(k) ?? 0) + 1;
  resvIds.set(k, id);
  return id;
}

/**
 * `struct dma_resv`: a reservation object, the implicit-sync state of a
 * buffer. A ww_mutex of `reservationWwClass` plus an RCU-published table of
 * (fence, usage) entries. Writers hold the lock; readers (the unlocked
 * iterators and queries) never take it and may restart when the table is
 * replaced under them.
 *
 * Debug checks that are always on: every change asserts the lock
 * (`resv.not_locked`), adding without a reserved slot is a BUG
 * (`resv.add_without_reserve`, the thread is killed as by BUG_ON), and
 * unlocking forgets unused reservations (CONFIG_DEBUG_MUTEXES'
 * `dma_resv_reset_max_fences`). Use after `fini` is `resv.use_after_fini`.
 *
 * Constructing one is `dma_resv_init`.
 *
 * @kernel struct dma_resv, dma_resv_init, dma_resv_fini (drivers/dma-buf/dma-resv.c, include/linux/dma-resv.h)
 */
export class DmaResv {
  /** `obj->lock`: the ww_mutex. */
  readonly wwLock: WwMutex;
  /** `obj->fences`: the published table, null until the first reservation. */
  fences: DmaResvList | null = null;
  /**
   * Publication counter: bumped every time a new table is published (the
   * write side of the seqcount readers check). Readers compare the table
   * they started from with the current one and restart when it changed.
   */
  seq = 0;
  /** Set by `fini`. */
  dead = false;
  /** Per-kernel id. */
  readonly id: number;
  /** Instance name shown in reports (the lockdep class is always `reservation_ww_class_mutex`). */
  readonly name: string;

  constructor(
    readonly kernel: Kernel,
    name?: string,
  ) {
    this.id = nextResvId(kernel);
    this.name = name ?? `resv#${this.id}`;
    this.wwLock = new WwMutex(kernel, reservationWwClass, `&${this.name}->lock`);
    kernel.hb?.alloc(this, { what: `struct dma_resv (${this.name})`, size: 96, fn: 'dma_resv_init', locks: [this.wwLock] });
  }

  /** `dma_resv_fini`: drop every stored fence and destroy the lock. The object must be unlocked. */
  fini(): void {
    if (this.dead) {
      reportUseAfterFini(this, 'dma_resv_fini');
      return;
    }
    const old = this.fences;
    this.publish(null);
    dmaResvListFree(this.kernel, old);
    this.dead = true;
    if (this.kernel.currentOrNull) this.wwLock.destroy();
    else this.wwLock.destroyed = true;
    // KASAN: the object (and its lock) is poisoned; later uses are reported with both sites.
    this.kernel.hb?.free(this.kernel.currentOrNull, this, 'dma_resv_fini');
  }

  // ------------------------------------------------------------------ locking

  /**
   * `dma_resv_lock`: 0, `-EALREADY` (ctx already holds it), `-EDEADLK` (back
   * off: unlock everything of `ctx`, then `lockSlow`). A null ctx never
   * fails. Process context; sleeps.
   */
  lock(ctx: WwAcquireCtx | null): Promise<WwLockResult> {
    this.checkAlive('dma_resv_lock');
    return this.wwLock.lock(ctx);
  }

  /** `dma_resv_lock_interruptible`: as `lock`, plus `-EINTR` on a signal. */
  lockInterruptible(ctx: WwAcquireCtx | null): Promise<WwLockInterruptibleResult> {
    this.checkAlive('dma_resv_lock_interruptible');
    return this.wwLock.lockInterruptible(ctx);
  }

  /** `dma_resv_lock_slow`: take the contended lock after `-EDEADLK`, nothing else held in `ctx`. */
  lockSlow(ctx: WwAcquireCtx): Promise<void> {
    this.checkAlive('dma_resv_lock_slow');
    return this.wwLock.lockSlow(ctx);
  }

  /** `dma_resv_lock_slow_interruptible`: 0 or `-EINTR`. */
  lockSlowInterruptible(ctx: WwAcquireCtx): Promise<WwLockInterruptibleResult> {
    this.checkAlive('dma_resv_lock_slow_interruptible');
    return this.wwLock.lockSlowInterruptible(ctx);
  }

  /** `dma_resv_trylock`: true if taken (no context). Never sleeps. */
  trylock(): boolean {
    this.checkAlive('dma_resv_trylock');
    return this.wwLock.trylock(null);
  }

  /**
   * `dma_resv_unlock`: first forget unused reservations (`max_fences =
   * num_fences`, the CONFIG_DEBUG_MUTEXES check that catches a path that
   * reserves under one lock hold and adds under another), then unlock.
   */
  unlock(): void {
    this.resetMaxFences();
    this.wwLock.unlock();
  }

  /** `dma_resv_is_locked`. */
  isLocked(): boolean {
    return this.wwLock.isLocked();
  }

  /** `dma_resv_locking_ctx`: the acquire context of the holder, or null. */
  lockingCtx(): WwAcquireCtx | null {
    return this.wwLock.ctx;
  }

  /** `dma_resv_held`: the current thread holds the lock (lockdep view). */
  held(): boolean {
    return this.kernel.lockIsHeld(this.wwLock.dep);
  }

  /** `dma_resv_assert_held`: a `resv.not_locked` WARN when the current thread does not hold the lock. */
  assertHeld(op = 'dma_resv_assert_held'): void {
    if (!this.held()) reportNotLocked(this, op);
  }

  // ------------------------------------------------------------- fence slots

  /**
   * `dma_resv_reserve_fences`: make room for `numFences` more entries (lock
   * held). 0 if the table already has room; otherwise a new table of
   * `max(num + n, 2 * max)` (or `max(4, roundup_pow_of_two(n))` for the first
   * one), rounded up to the kmalloc bucket, is allocated with GFP_KERNEL
   * (`-ENOMEM` when that fails). Unsignalled entries are packed at the
   * front in order; signalled ones are dropped after the new table is
   * published, so reserving can shrink `numFences`. `numFences == 0` WARNs
   * and gives `-EINVAL`. Process context.
   */
  reserveFences(numFences: number): number {
    const k = this.kernel;
    this.checkAlive('dma_resv_reserve_fences');
    this.assertHeld('dma_resv_reserve_fences');
    wholeArg('DmaResv.reserveFences(numFences)', 'numFences', numFences, '(unsigned int)', U32_MAX);
    if (!numFences) {
      k.splat({
        rule: 'resv.reserve_zero',
        severity: 'warn',
        headline: 'WARNING: dma_resv_reserve_fences(obj, 0)',
        body: 'Reserving zero slots usually means the number of fences was computed wrongly.',
      });
      return -Errno.EINVAL;
    }
    const old = this.fences;
    let max: number;
    if (old) {
      resvListAccess(k, old, 'max', Access.READ, 'dma_resv_reserve_fences');
      resvListAccess(k, old, 'num', Access.READ, 'dma_resv_reserve_fences');
    }
    if (old && old.maxFences) {
      if (old.numFences + numFences <= old.maxFences) return 0;
      max = Math.max(old.numFences + numFences, old.maxFences * 2);
    } else {
      max = Math.max(4, roundupPowOfTwo(numFences));
    }
    const list = dmaResvListAlloc(k, max, 'dma_resv_reserve_fences');
    if (!list) return -Errno.ENOMEM;
    const signalled: DmaFence[] = [];
    let j = 0;
    if (old) {
      for (let i = 0; i < old.numFences; i++) {
        const f = old.fence(i);
        if (f.isSignaled()) signalled.push(f);
        else list.set(j++, f, old.usage(i));
      }
    }
    list.numFences = j;
    // References move with the entries; readers of the old table still see the same unsignalled set.
    this.publish(list);
    if (k.events.active)
      k.emit('resv-reserve', {
        resv: this.name,
        num: j,
        max: list.maxFences,
        dropped: signalled.length,
      });
    if (!old) return 0;
    for (const f of signalled) f.put();
    dmaResvListRetire(k, old);
    return 0;
  }

  /**
   * `dma_resv_reset_max_fences` (CONFIG_DEBUG_MUTEXES): forget the slots
   * reserved but not used. Called by `unlock`. Lock held.
   */
  resetMaxFences(): void {
    const list = this.fences;
    this.assertHeld('dma_resv_reset_max_fences');
    if (list) {
      resvListAccess(this.kernel, list, 'num', Access.READ, 'dma_resv_reset_max_fences');
      resvListAccess(this.kernel, list, 'max', Access.WRITE, 'dma_resv_reset_max_fences');
      list.maxFences = list.numFences;
    }
  }

  /**
   * `dma_resv_add_fence`: add `fence` with `usage` (lock held; cannot fail).
   * Takes a reference. The first entry that has the same context, an equal
   * or weaker usage (numerically >=) and an earlier-or-same fence, or that
   * holds an already signalled fence, is replaced in place; otherwise the
   * fence is appended into a reserved slot. Appending with no slot left is a
   * BUG (`resv.add_without_reserve`; the thread is killed as by BUG_ON).
   * Adding a container (array/chain) WARNs (`resv.add_container`).
   */
  addFence(fence: DmaFence, usage: DmaResvUsage): void {
    const k = this.kernel;
    checkUsage(usage, 'dma_resv_add_fence');
    fence.get();
    this.checkAlive('dma_resv_add_fence');
    this.assertHeld('dma_resv_add_fence');
    if (dmaFenceIsContainer(fence)) {
      k.splat({
        rule: 'resv.add_container',
        severity: 'warn',
        headline: `WARNING: dma_resv_add_fence(${this.name}) with a container fence ${fence.context}:${fence.seqno}`,
        body: 'Add each fence of a dma_fence_array/dma_fence_chain individually (dma_fence_unwrap_for_each).',
      });
    }
    const list = this.fences;
    if (list) resvListAccess(k, list, 'num', Access.READ, 'dma_resv_add_fence');
    const count = list ? list.numFences : 0;
    for (let i = 0; i < count; i++) {
      const old = list!.fence(i);
      const oldUsage = list!.usage(i);
      if (
        (old.context === fence.context && oldUsage >= usage && dmaFenceIsLaterOrSame(fence, old)) ||
        old.isSignaled()
      ) {
        list!.set(i, fence, usage);
        if (k.events.active) this.emitAdd(fence, usage, i, true);
        old.put();
        return;
      }
    }
    if (list) resvListAccess(k, list, 'max', Access.READ, 'dma_resv_add_fence');
    if (!list || list.numFences >= list.maxFences) reportAddWithoutReserve(this, fence, usage);
    list.set(count, fence, usage);
    resvListAccess(k, list, 'num', Access.WRITE_ONCE, 'dma_resv_add_fence');
    list.numFences = count + 1;
    if (k.events.active) this.emitAdd(fence, usage, count, false);
  }

  /**
   * `dma_resv_replace_fences`: every entry of `context` gets a new reference
   * to `replacement` with `usage` (lock held). Only valid when the old
   * operation can no longer touch the buffer once `replacement` signals.
   */
  replaceFences(context: number, replacement: DmaFence, usage: DmaResvUsage): void {
    checkUsage(usage, 'dma_resv_replace_fences');
    this.checkAlive('dma_resv_replace_fences');
    this.assertHeld('dma_resv_replace_fences');
    const list = this.fences;
    for (let i = 0; list && i < list.numFences; i++) {
      const old = list.fence(i);
      if (old.context !== context) continue;
      list.set(i, replacement.get(), usage);
      old.put();
    }
  }

  /**
   * `dma_resv_copy_fences`: replace this object's whole table (lock held)
   * with a restart-safe unlocked snapshot of `src`'s unsignalled fences,
   * usages kept. An empty snapshot leaves no table. `-ENOMEM` when an
   * allocation fails (this object is then unchanged).
   */
  copyFences(src: DmaResv): number {
    const k = this.kernel;
    this.checkAlive('dma_resv_copy_fences');
    this.assertHeld('dma_resv_copy_fences');
    let list: DmaResvList | null = null;
    const cursor = new DmaResvIter(src, DmaResvUsage.BOOKKEEP);
    for (let f = cursor.firstUnlocked(); f; f = cursor.nextUnlocked()) {
      if (cursor.isRestarted) {
        dmaResvListFree(k, list);
        list = dmaResvListAlloc(k, cursor.numFences, 'dma_resv_copy_fences');
        if (!list) {
          cursor.end();
          return -Errno.ENOMEM;
        }
        list.numFences = 0;
      }
      list!.set(list!.numFences++, f.get(), cursor.fenceUsage);
    }
    cursor.end();
    const old = this.fences;
    this.publish(list);
    dmaResvListFree(k, old);
    return 0;
  }

  // ----------------------------------------------------------------- queries

  /** `dma_resv_get_fences`: the unsignalled fences of `usage` or stronger, each referenced; or `-ENOMEM`. No lock needed. */
  getFences(usage: DmaResvUsage): DmaFence[] | number {
    this.checkAlive('dma_resv_get_fences');
    return dmaResvGetFences(this, usage);
  }

  /** `dma_resv_get_singleton`: null (none), the one fence, or a new wait-all dma_fence_array; or `-ENOMEM`. */
  getSingleton(usage: DmaResvUsage): DmaFence | null | number {
    this.checkAlive('dma_resv_get_singleton');
    return dmaResvGetSingleton(this, usage);
  }

  /** `dma_resv_wait_timeout`: `-ERESTARTSYS`, 0 (timed out / busy for a 0 timeout) or > 0. Process context. */
  waitTimeout(usage: DmaResvUsage, intr: boolean, timeoutJiffies: number): Promise<number> {
    this.checkAlive('dma_resv_wait_timeout');
    timeoutArg('DmaResv.waitTimeout(usage, intr, timeoutJiffies)', 'timeoutJiffies', timeoutJiffies);
    return dmaResvWaitTimeout(this, usage, intr, timeoutJiffies);
  }

  /** `dma_resv_test_signaled`: true iff no unsignalled fence of `usage` or stronger remains. */
  testSignaled(usage: DmaResvUsage): boolean {
    this.checkAlive('dma_resv_test_signaled');
    return dmaResvTestSignaled(this, usage);
  }

  /** `dma_resv_set_deadline`: pass the deadline hint to every unsignalled fence of `usage` or stronger. */
  setDeadline(usage: DmaResvUsage, deadlineNs: number): void {
    ktimeArg('DmaResv.setDeadline(usage, deadlineNs)', 'deadlineNs', deadlineNs);
    dmaResvSetDeadline(this, usage, deadlineNs);
  }

  /** `dma_resv_describe`: one line per KERNEL/WRITE/READ fence (BOOKKEEP not printed); lock held. */
  describe(): string {
    return dmaResvDescribe(this);
  }

  /** Entries of the current table as (fence, usage) pairs, signalled ones included; for tests and reports. */
  entries(): { fence: DmaFence; usage: DmaResvUsage }[] {
    const list = this.fences;
    const out: { fence: DmaFence; usage: DmaResvUsage }[] = [];
    for (let i = 0; list && i < list.numFences; i++)
      out.push({ fence: list.fence(i), usage: list.usage(i) });
    return out;
  }

  toString(): string {
    return `dma_resv ${this.name}`;
  }

  // ---------------------------------------------------------------- internal

  /** `rcu_assign_pointer(obj->fences, list)` and the seqcount write (only when the table changes). */
  private publish(list: DmaResvList | null): void {
    if (list === this.fences) return;
    this.fences = list;
    this.seq++;
  }

  private emitAdd(fence: DmaFence, usage: DmaResvUsage, index: number, replaced: boolean): void {
    this.kernel.emit('resv-add-fence', {
      resv: this.name,
      context: fence.context,
      seqno: fence.seqno,
      usage,
      index,
      replaced,
    });
  }

  /** A use of a finalized object: KASAN's report when the checker is on, else `resv.use_after_fini`. */
  private checkAlive(op: string): void {
    if (!this.dead) return;
    const k = this.kernel;
    const t = k.currentOrNull;
    if (k.hb !== null && t !== null && k.hb.isFreed(this)) k.hb.touch(t, this, op, false);
    else reportUseAfterFini(this, op);
  }
}
