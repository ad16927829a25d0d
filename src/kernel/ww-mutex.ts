import { Errno } from './errno.ts';
import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel, WouldSleep } from './kernel.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import { debugMutexUnlockCheck } from './mutex.ts';
import type { Blocker, Thread } from './thread.ts';
import { wwCtxLess, wwWarn } from './ww-acquire.ts';
import type { WwAcquireCtx, WwClass } from './ww-acquire.ts';

export { WwAcquireCtx, WwClass, defineWdClass, defineWwClass, wwCtxLess } from './ww-acquire.ts';
export type { WwAcquireInit, WwContendingLock } from './ww-acquire.ts';

declare module './ww-acquire.ts' {
  /** A context's `contendingLock` is a whole `WwMutex` (ww-acquire.ts declares the slot without importing this file). */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds WwMutex's members
  interface WwContendingLock extends WwMutex {}
}

/**
 * `ww_mutex_lock` results: 0, `-EDEADLK` (back off), `-EALREADY` (this context holds it).
 *
 * @kernel ww_mutex_lock (return values)
 */
export type WwLockResult = 0 | -35 | -114;
/**
 * `ww_mutex_lock_interruptible` results: those of `lock` plus `-EINTR`.
 *
 * @kernel ww_mutex_lock_interruptible (return values)
 */
export type WwLockInterruptibleResult = WwLockResult | -4;

/**
 * One entry of a ww_mutex wait list, read-only for inspection.
 *
 * @kernel struct mutex_waiter (task, ww_ctx)
 */
export interface WwWaiter {
  readonly thread: Thread;
  /** Null for `ww_mutex_lock(lock, NULL)` waiters: FIFO, skipped by the stamp ordering. */
  readonly ctx: WwAcquireCtx | null;
}

const EDEADLK = -Errno.EDEADLK as -35;
const EALREADY = -Errno.EALREADY as -114;
const EINTR = -Errno.EINTR as -4;

/**
 * `struct ww_mutex`: a mutex with deadlock avoidance across the locks of one
 * `WwClass`. Waiters with an acquire context are kept in stamp order (oldest
 * first); Wait-Die kills a younger transaction that would wait for an older
 * one, Wound-Wait wounds a younger holder that an older transaction waits for
 * (the wound is noticed lazily, at the holder's next contention). Debug checks
 * (DEBUG_WW_MUTEXES) are always on and reported as `ww_mutex.*` splats.
 *
 * Deliberate differences: no optimistic spinning or hand-off (a free lock may
 * be taken by whichever thread runs first, as with lock stealing); the
 * CONFIG_DEBUG_WW_MUTEX_SLOWPATH countdown is replaced by asking the chooser
 * (`inject('ww-slowpath', site)`) after each successful lock with
 * `acquired > 1`.
 *
 * @kernel ww_mutex_lock, ww_mutex_lock_interruptible, ww_mutex_lock_slow, ww_mutex_trylock, ww_mutex_unlock (kernel/locking/mutex.c, ww_mutex.h)
 */
export class WwMutex implements Blocker {
  /** Lockdep map: every mutex of a class shares the class `<name>_mutex`. */
  readonly dep: LockdepMap;
  owner: Thread | null = null;
  /** The acquire context of the holder, null when taken without one. */
  ctx: WwAcquireCtx | null = null;
  /** Set by `destroy`. */
  destroyed = false;
  private readonly waiters: WwWaiter[] = [];

  /** `ww_mutex_init(lock, cls)`; `name` only labels reports (the class is the class's). */
  constructor(
    readonly kernel: Kernel,
    readonly cls: WwClass,
    name: string = cls.mutexName,
  ) {
    this.dep = new LockdepMap(name, cls.mutexName, LdWait.SLEEP);
  }

  /**
   * `ww_mutex_lock`: 0 when taken, `-EALREADY` when `ctx` already holds it,
   * `-EDEADLK` when this transaction must back off (release everything it
   * holds, then `lockSlow` this lock). With `ctx === null`, a plain mutex lock
   * without deadlock avoidance. Process context; sleeps.
   */
  lock(ctx: WwAcquireCtx | null): Promise<WwLockResult> {
    return this.kernel.sleeping('ww_mutex_lock', () => this.lockNow(ctx), () => this.lockCommon(ctx, false, 'ww_mutex_lock') as Promise<WwLockResult>);
  }

  /** `ww_mutex_lock_interruptible`: as `lock`, or `-EINTR` if a signal arrives while waiting. */
  lockInterruptible(ctx: WwAcquireCtx | null): Promise<WwLockInterruptibleResult> {
    return this.kernel.sleeping('ww_mutex_lock_interruptible', () => this.lockNow(ctx), () => this.lockCommon(ctx, true, 'ww_mutex_lock_interruptible'));
  }

  /**
   * The uncontended path alone, for callers that cannot sleep
   * (`Kernel.sleeping`): a free lock is taken at once, one this context
   * holds gives `-EALREADY`, a held one would sleep.
   */
  private lockNow(ctx: WwAcquireCtx | null): 0 | -114 | WouldSleep {
    const k = this.kernel;
    const t = k.current;
    this.checkAlive(t);
    if (ctx) {
      ctx.checkUser(t, 'ww_mutex_lock');
      if (this.ctx === ctx) return EALREADY;
      if (ctx.acquired === 0) ctx.wounded = false;
    }
    if (this.owner !== null) return WOULD_SLEEP;
    k.lockAcquire(this.dep, 0, false, 0, true, ctx?.dep ?? null, t);
    this.owner = t;
    k.hb?.acquire(t, this);
    if (ctx) {
      this.acquiredBy(ctx, t);
      this.checkWaiters(ctx, t);
    }
    return 0;
  }

  /**
   * `ww_mutex_lock_slow`: take the contended lock after `-EDEADLK`, with every
   * other lock of `ctx` released; sleeps until acquired. Calling it without a
   * preceding `-EDEADLK`, on another lock, or with locks held is a splat.
   */
  async lockSlow(ctx: WwAcquireCtx): Promise<void> {
    this.checkSlow(ctx, 'ww_mutex_lock_slow');
    await this.lockCommon(ctx, false, 'ww_mutex_lock_slow');
  }

  /** `ww_mutex_lock_slow_interruptible`: 0, or `-EINTR` on a signal. */
  lockSlowInterruptible(ctx: WwAcquireCtx): Promise<WwLockInterruptibleResult> {
    this.checkSlow(ctx, 'ww_mutex_lock_slow_interruptible');
    return this.lockCommon(ctx, true, 'ww_mutex_lock_slow_interruptible');
  }

  /**
   * `ww_mutex_trylock`: true if taken; never sleeps and never backs off.
   * A lock the context already holds gives false (not `-EALREADY`).
   */
  trylock(ctx: WwAcquireCtx | null = null): boolean {
    const k = this.kernel;
    const t = k.current;
    this.checkAlive(t);
    if (ctx === null) {
      if (this.owner !== null) return false;
      this.owner = t;
      k.hb?.acquire(t, this);
      k.lockAcquire(this.dep, 0, true, 0, true, null, t);
      return true;
    }
    ctx.checkUser(t, 'ww_mutex_trylock');
    if (ctx.acquired === 0) ctx.wounded = false;
    if (this.owner !== null) return false;
    this.owner = t;
    k.hb?.acquire(t, this);
    this.acquiredBy(ctx, t);
    this.checkWaiters(ctx, t);
    k.lockAcquire(this.dep, 0, true, 0, true, ctx.dep, t);
    return true;
  }

  /** `ww_mutex_unlock`: release a lock taken by any `ww_mutex_lock*` variant. */
  unlock(): void {
    const k = this.kernel;
    const t = k.current;
    this.checkAlive(t);
    const ctx = this.ctx;
    if (ctx) {
      if (ctx.acquired === 0) {
        wwWarn(k, t, 'acquired_underflow', 'DEBUG_LOCKS_WARN_ON(!lock->ctx->acquired)', `${this.dep.name} unlocked but ${ctx.describe()} holds nothing`);
      } else {
        ctx.acquired--;
      }
      this.ctx = null;
    }
    if (!debugMutexUnlockCheck(k, t, this.owner, this.dep)) return;
    this.owner = null;
    k.hb?.release(t, this);
    const first = this.waiters[0];
    if (first) k.wake(first.thread);
  }

  /** `ww_mutex_is_locked`. */
  isLocked(): boolean {
    return this.owner !== null;
  }

  /** `ww_mutex_destroy`: the lock must be unlocked; any later use is a splat. */
  destroy(): void {
    const t = this.kernel.current;
    if (this.owner !== null) {
      wwWarn(this.kernel, t, 'destroy_locked', 'DEBUG_LOCKS_WARN_ON(mutex_is_locked(lock))', `ww_mutex_destroy(${this.dep.name}) while held by ${this.owner.name}`);
    }
    this.destroyed = true;
  }

  /** The wait list, first waiter first (context waiters in stamp order). */
  get waitList(): readonly WwWaiter[] {
    return this.waiters;
  }

  describe(): string {
    return `ww_mutex ${this.dep.name}`;
  }

  get lockMap(): LockdepMap {
    return this.dep;
  }

  owners(): readonly Thread[] {
    return this.owner ? [this.owner] : [];
  }

  // ------------------------------------------------------------ slow path

  /** `__mutex_lock_common` with `use_ww_ctx`, plus the slow-path injection of `ww_mutex_lock`. */
  private async lockCommon(ctx: WwAcquireCtx | null, interruptible: boolean, op: string): Promise<WwLockInterruptibleResult> {
    const k = this.kernel;
    const t = k.current;
    k.mightSleep(op);
    this.checkAlive(t);
    if (ctx) {
      ctx.checkUser(t, op);
      if (this.ctx === ctx) return EALREADY;
      // No one can wound a context that holds nothing, so the flag is stale.
      if (ctx.acquired === 0) ctx.wounded = false;
    }
    k.lockAcquire(this.dep, 0, false, 0, true, ctx?.dep ?? null, t);
    await k.schedulePoint(op);
    if (this.owner === null) {
      this.owner = t;
      k.hb?.acquire(t, this);
      if (ctx) {
        this.acquiredBy(ctx, t);
        this.checkWaiters(ctx, t);
      }
    } else {
      const r = await this.wait(t, ctx, interruptible, op);
      if (r !== 0) {
        k.lockRelease(this.dep, t);
        return r;
      }
    }
    if (ctx && ctx.acquired > 1 && !ctx.noInject && k.inject('ww-slowpath', `${t.name}:${this.dep.name}`)) {
      // CONFIG_DEBUG_WW_MUTEX_SLOWPATH: pretend we lost, so back-off paths run.
      ctx.contendingLock = this;
      this.unlock();
      return EDEADLK;
    }
    return 0;
  }

  /** Queue, then sleep until the lock is ours, a signal arrives, or the transaction must die. */
  private async wait(t: Thread, ctx: WwAcquireCtx | null, interruptible: boolean, op: string): Promise<0 | -4 | -35> {
    const k = this.kernel;
    if (k.events.active) k.emit('lock-contend', { lock: this.dep.name, cls: this.dep.key, holder: this.owner?.name ?? null });
    const w: WwWaiter = { thread: t, ctx };
    if (ctx) {
      const r = this.addWaiter(w, ctx);
      if (r !== 0) return r;
    } else {
      this.waiters.push(w);
    }
    for (;;) {
      // Take a free lock before looking at signals or kill conditions, as the kernel does.
      if (this.owner === null) break;
      let err: 0 | -4 | -35 = interruptible && t.signalPending ? EINTR : 0;
      if (err === 0 && ctx) err = this.checkKill(w, ctx);
      if (err !== 0) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        return err;
      }
      await k.block(t, this, op, { interruptible });
    }
    const first = this.waiters[0] === w;
    this.waiters.splice(this.waiters.indexOf(w), 1);
    this.owner = t;
    k.hb?.acquire(t, this);
    if (ctx) {
      // Wound-Wait: we stole the lock from an earlier waiter, who may need to wound us.
      if (!ctx.waitDie && !first) this.checkWaiters(ctx, t);
      this.acquiredBy(ctx, t);
    }
    return 0;
  }

  /**
   * `__ww_mutex_add_waiter`: insert behind the last older context waiter
   * (ctx-less waiters are skipped). Wait-Die: die at once if an older context
   * already waits and we hold locks; wake younger waiters that hold locks so
   * they die. Wound-Wait: wound a younger holder.
   */
  private addWaiter(w: WwWaiter, ctx: WwAcquireCtx): 0 | -35 {
    let pos = this.waiters.length;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const cur = this.waiters[i]!;
      if (!cur.ctx) continue;
      if (wwCtxLess(ctx, cur.ctx)) {
        if (ctx.waitDie) {
          const r = this.kill(ctx, w.thread);
          if (r !== 0) return r;
        }
        break;
      }
      pos = i;
      this.die(cur, ctx);
    }
    this.waiters.splice(pos, 0, w);
    if (!ctx.waitDie) this.wound(ctx, this.ctx, w.thread);
    return 0;
  }

  /** `__ww_mutex_check_kill`: must this waiter back off now? */
  private checkKill(w: WwWaiter, ctx: WwAcquireCtx): 0 | -35 {
    if (ctx.acquired === 0) return 0;
    if (!ctx.waitDie) return ctx.wounded ? this.kill(ctx, w.thread) : 0;
    const hold = this.ctx;
    if (hold && wwCtxLess(ctx, hold)) return this.kill(ctx, w.thread);
    // Waiters are in stamp order: any context waiter ahead of us is older.
    for (const cur of this.waiters) {
      if (cur === w) break;
      if (cur.ctx) return this.kill(ctx, w.thread);
    }
    return 0;
  }

  /** `__ww_mutex_kill`: -EDEADLK if the transaction holds locks (recording the contended lock). */
  private kill(ctx: WwAcquireCtx, t: Thread): 0 | -35 {
    if (ctx.acquired === 0) return 0;
    if (ctx.contendingLock) {
      wwWarn(
        this.kernel,
        t,
        'edeadlk_not_handled',
        'DEBUG_LOCKS_WARN_ON(ww_ctx->contending_lock)',
        `${ctx.describe()} dies on ${this.dep.name} but never took ${ctx.contendingLock.dep.name}, which returned -EDEADLK before: ` +
          'after -EDEADLK, unlock everything and ww_mutex_lock_slow() the contended lock',
      );
    }
    ctx.contendingLock = this;
    return EDEADLK;
  }

  /** `__ww_mutex_die`: Wait-Die, wake a younger waiter holding locks so it dies. */
  private die(waiter: WwWaiter, ctx: WwAcquireCtx): boolean {
    if (!ctx.waitDie) return false;
    if (waiter.ctx!.acquired > 0 && wwCtxLess(waiter.ctx!, ctx)) this.kernel.wake(waiter.thread);
    return true;
  }

  /** `__ww_mutex_wound`: Wound-Wait, wound a younger holder when `ctx` (holding locks) waits for it. */
  private wound(ctx: WwAcquireCtx, hold: WwAcquireCtx | null, current: Thread): boolean {
    const owner = this.owner;
    if (!hold || !owner) return false;
    if (ctx.acquired > 0 && wwCtxLess(hold, ctx)) {
      hold.wounded = true;
      if (owner !== current) this.kernel.wake(owner);
      return true;
    }
    return false;
  }

  /** `__ww_mutex_check_waiters`: after `ctx` took the lock, let waiters that must die or wound notice. */
  private checkWaiters(ctx: WwAcquireCtx, current: Thread): void {
    for (const cur of this.waiters) {
      if (!cur.ctx) continue;
      if (this.die(cur, ctx) || this.wound(cur.ctx, ctx, current)) break;
    }
  }

  /** `ww_mutex_lock_acquired`: debug checks, then `acquired++` and `lock->ctx = ctx`. */
  private acquiredBy(ctx: WwAcquireCtx, t: Thread): void {
    const k = this.kernel;
    if (ctx.doneAcquire) {
      wwWarn(k, t, 'lock_after_done', 'DEBUG_LOCKS_WARN_ON(ww_ctx->done_acquire)', `${this.dep.name} locked with ${ctx.describe()} after ww_acquire_done()`);
    }
    const contending = ctx.contendingLock;
    if (contending) {
      if (contending !== this) {
        wwWarn(
          k,
          t,
          'wrong_contended_lock',
          'DEBUG_LOCKS_WARN_ON(ww_ctx->contending_lock != ww)',
          `after -EDEADLK on ${contending.dep.name}, ${ctx.describe()} acquired a different ww_mutex (${this.dep.name}): ` +
            'the contended lock must be taken next (ww_mutex_lock_slow)',
        );
      }
      if (ctx.acquired > 0) {
        wwWarn(
          k,
          t,
          'backoff_locks_held',
          'DEBUG_LOCKS_WARN_ON(ww_ctx->acquired > 0)',
          `after -EDEADLK, ${ctx.describe()} locked ${this.dep.name} while still holding ${ctx.acquired} ww_mutex${ctx.acquired > 1 ? 'es' : ''}: release all of them first`,
        );
      }
      ctx.contendingLock = null;
    }
    if (ctx.cls !== this.cls) {
      wwWarn(
        k,
        t,
        'class_mismatch',
        'DEBUG_LOCKS_WARN_ON(ww_ctx->ww_class != ww->ww_class)',
        `${this.dep.name} (class ${this.cls.name}) locked with ${ctx.describe()} of class ${ctx.cls.name}`,
      );
    }
    ctx.acquired++;
    this.ctx = ctx;
  }

  private checkSlow(ctx: WwAcquireCtx, op: string): void {
    if (ctx.contendingLock) return;
    wwWarn(
      this.kernel,
      this.kernel.current,
      'slow_without_edeadlk',
      'DEBUG_LOCKS_WARN_ON(!ctx->contending_lock)',
      `${op}(${this.dep.name}) without a preceding -EDEADLK on ${ctx.describe()}`,
    );
  }

  private checkAlive(t: Thread): void {
    if (!this.destroyed) return;
    wwWarn(this.kernel, t, 'use_after_destroy', 'DEBUG_LOCKS_WARN_ON(lock->magic != lock)', `${this.dep.name} used after ww_mutex_destroy()`);
  }
}
