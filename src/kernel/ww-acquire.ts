import type { Kernel } from './kernel.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import { assertHeld } from './mutex.ts';
import type { Thread } from './thread.ts';

/**
 * The lock a context remembers after -EDEADLK (`ww_ctx->contending_lock`):
 * a `WwMutex`. ww-mutex.ts completes this interface by declaration merging
 * (`interface WwContendingLock extends WwMutex`), so the field has every
 * member of `WwMutex` while this file, which the mutex builds on, does not
 * import ww-mutex.ts.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by ww-mutex.ts (see above)
export interface WwContendingLock {}

/**
 * `struct ww_class`: the stamp counter, the two lockdep class names
 * (`<name>_acquire` for contexts, `<name>_mutex` for the mutexes) and the
 * algorithm. Classes are usually module-level constants shared by many runs,
 * so the stamp counter is kept per kernel: every run starts at stamp 1 and
 * replays identically.
 *
 * @kernel struct ww_class, DEFINE_WW_CLASS, DEFINE_WD_CLASS (include/linux/ww_mutex.h)
 */
export class WwClass {
  /** Lockdep class of the acquire contexts (`<name>_acquire`). */
  readonly acquireName: string;
  /** Lockdep class of the mutexes (`<name>_mutex`). */
  readonly mutexName: string;
  private readonly stamps = new WeakMap<Kernel, number>();

  constructor(
    readonly name: string,
    /** `is_wait_die`: true for Wait-Die, false for Wound-Wait. */
    readonly waitDie: boolean,
  ) {
    this.acquireName = `${name}_acquire`;
    this.mutexName = `${name}_mutex`;
  }

  /** `atomic_long_inc_return(&class->stamp)`: the first context of a run gets stamp 1. */
  nextStamp(k: Kernel): number {
    const s = (this.stamps.get(k) ?? 0) + 1;
    this.stamps.set(k, s);
    return s;
  }
}

/**
 * `DEFINE_WW_CLASS`: a Wound-Wait class (older transactions wound younger holders).
 *
 * @kernel DEFINE_WW_CLASS
 */
export function defineWwClass(name: string): WwClass {
  return new WwClass(name, false);
}

/**
 * `DEFINE_WD_CLASS`: a Wait-Die class (younger transactions die instead of
 * waiting for older ones). `reservation_ww_class` (dma_resv) is Wait-Die.
 *
 * @kernel DEFINE_WD_CLASS
 */
export function defineWdClass(name: string): WwClass {
  return new WwClass(name, true);
}

/**
 * `__ww_ctx_less(a, b)`: true when `a` is the younger transaction (greater
 * stamp). Older transactions always win. The model has no RT priorities.
 *
 * @kernel __ww_ctx_less (kernel/locking/ww_mutex.h, non-RT)
 */
export function wwCtxLess(a: WwAcquireCtx, b: WwAcquireCtx): boolean {
  return a.stamp - b.stamp > 0;
}

/**
 * A `DEBUG_LOCKS_WARN_ON` from the ww_mutex debug code, as a WARN splat with
 * rule `ww_mutex.<rule>`. Internal to the ww_mutex files.
 *
 * @kernel DEBUG_LOCKS_WARN_ON (DEBUG_WW_MUTEXES checks)
 */
export function wwWarn(k: Kernel, t: Thread, rule: string, headline: string, body: string): void {
  k.splat({ rule: `ww_mutex.${rule}`, severity: 'warn', headline, body, thread: t });
}

/**
 * Options of `ww_acquire_init`.
 *
 * @kernel ww_acquire_init, ww_acquire_init_noinject
 */
export interface WwAcquireInit {
  /**
   * `ww_acquire_init_noinject`: never inject a slow-path back-off
   * (CONFIG_DEBUG_WW_MUTEX_SLOWPATH) into this transaction.
   */
  noInject?: boolean;
}

/**
 * `struct ww_acquire_ctx`: one transaction. Constructing it is
 * `ww_acquire_init` (process context, in the thread that will use it): it
 * takes a stamp from the class, and acquires the context's lockdep map (class
 * `<name>_acquire`) plus the fake "first lock" map (class `<name>_mutex`)
 * nested under it, so every mutex of the class locked with this context is a
 * nest-locked acquisition.
 *
 * The stamp is never refreshed on retry: that is what guarantees progress.
 *
 * @kernel ww_acquire_init, ww_acquire_done, ww_acquire_fini (include/linux/ww_mutex.h)
 */
export class WwAcquireCtx {
  /** The task that initialized the context. */
  readonly task: Thread;
  /** Transaction age; smaller is older. */
  readonly stamp: number;
  /** Number of ww mutexes held through this context. */
  acquired = 0;
  /** Wound-Wait: an older transaction wants a lock we hold; we die at our next contention. */
  wounded = false;
  readonly waitDie: boolean;
  /** Debug: `ww_acquire_done` was called. */
  doneAcquire = false;
  /** Debug: the lock whose acquisition returned -EDEADLK, until it is taken again. */
  contendingLock: WwContendingLock | null = null;
  /** Lockdep map of the context (class `<name>_acquire`). */
  readonly dep: LockdepMap;
  /** The fake "first lock" map held between init and fini (class `<name>_mutex`). */
  readonly firstLockDep: LockdepMap;
  /** Never inject slow-path back-offs (`ww_acquire_init_noinject`). */
  readonly noInject: boolean;
  /** False after `fini`. */
  live = true;

  constructor(
    readonly kernel: Kernel,
    readonly cls: WwClass,
    opts: WwAcquireInit = {},
  ) {
    const t = kernel.current;
    this.task = t;
    this.stamp = cls.nextStamp(kernel);
    this.waitDie = cls.waitDie;
    this.noInject = opts.noInject ?? false;
    this.dep = new LockdepMap(cls.acquireName, cls.acquireName, LdWait.INV);
    this.firstLockDep = new LockdepMap(cls.mutexName, cls.mutexName, LdWait.SLEEP);
    const other = t.held.find((h) => h.map.key === cls.acquireName);
    if (other) {
      // Lockdep sees the second `<name>_acquire` as recursive locking.
      kernel.splat({
        rule: 'ww_mutex.nested_acquire_ctx',
        severity: 'lockdep',
        headline: 'WARNING: possible recursive locking detected',
        body:
          `${t.name}/${t.id} is trying to acquire lock:\n (${cls.acquireName})\n\nbut task is already holding lock:\n (${other.map.name})\n\n` +
          `A task may have only one live ww_acquire_ctx per ww_class: call ww_acquire_fini() on the first one ` +
          `before ww_acquire_init() of another (mixing contexts of one class can deadlock undetected).`,
        thread: t,
        data: { cls: cls.name, stamp: this.stamp },
      });
    }
    kernel.lockAcquire(this.dep, 0, false, 0, true, null, t);
    kernel.lockAcquire(this.firstLockDep, 0, false, 0, true, this.dep, t);
    kernel.hb?.alloc(this, { what: `struct ww_acquire_ctx (${cls.acquireName}, stamp ${this.stamp})`, size: 48, fn: 'ww_acquire_init' });
  }

  /** `ww_acquire_done`: the acquire phase is over; locking more with this context is a bug. */
  done(): void {
    const k = this.kernel;
    const t = k.current;
    assertHeld(k, this.dep);
    if (this.doneAcquire) {
      wwWarn(k, t, 'done_twice', 'DEBUG_LOCKS_WARN_ON(ctx->done_acquire)', `ww_acquire_done() called twice on ${this.describe()}`);
    }
    this.doneAcquire = true;
  }

  /** `ww_acquire_fini`: release the context; every mutex must have been unlocked first. */
  fini(): void {
    const k = this.kernel;
    const t = k.current;
    if (!this.live) {
      // With lockdep the second release of the context map is an unlock imbalance.
      wwWarn(
        k,
        t,
        'fini_twice',
        'WARNING: bad unlock balance detected!',
        `${t.name}/${t.id} called ww_acquire_fini() twice on ${this.describe()}`,
      );
      return;
    }
    this.live = false;
    k.lockRelease(this.firstLockDep, t);
    k.lockRelease(this.dep, t);
    // DEBUG_MUTEXES poisons the context (acquired = ~0U); KASAN reports later uses with the fini site.
    k.hb?.free(t, this, 'ww_acquire_fini');
    if (this.acquired !== 0) {
      wwWarn(
        k,
        t,
        'fini_with_locks_held',
        'DEBUG_LOCKS_WARN_ON(ctx->acquired)',
        `ww_acquire_fini() on ${this.describe()} while it still holds ${this.acquired} ww_mutex${this.acquired > 1 ? 'es' : ''}: unlock them first`,
      );
    }
  }

  /**
   * Checks a lock call may use this context: lockdep's "Nested lock was not
   * taken" when the current task does not hold the context (after fini, or
   * another task's context). Returns normally either way, as lockdep does.
   */
  checkUser(t: Thread, op: string): void {
    if (!this.live) this.kernel.hb?.touch(t, this, op, false);
    if (this.kernel.lockIsHeld(this.dep, -1, t)) return;
    wwWarn(
      this.kernel,
      t,
      'ctx_not_held',
      'WARNING: Nested lock was not taken',
      `${t.name}/${t.id} calls ${op} with ${this.describe()}, which it does not hold: ` +
        (this.live ? `the context belongs to ${this.task.name}` : 'the context was released by ww_acquire_fini()'),
    );
  }

  describe(): string {
    return `ww_acquire_ctx ${this.cls.acquireName} (stamp ${this.stamp}, ${this.task.name})`;
  }
}
