import { Errno } from './errno.ts';
import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel, WouldSleep } from './kernel.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import { nestMapOf } from './spinlock.ts';
import type { LockInit, NestLock } from './spinlock.ts';
import type { Blocker, Thread } from './thread.ts';

/**
 * `struct mutex`: a sleeping lock with a FIFO wait list. Unlock wakes the
 * first waiter, which retries; another thread may take the lock first, as
 * with the kernel's optimistic spinning and lock stealing.
 *
 * @kernel mutex_lock, mutex_lock_interruptible, mutex_lock_nested, mutex_trylock, mutex_unlock (kernel/locking/mutex.c)
 */
export class Mutex implements Blocker {
  readonly dep: LockdepMap;
  owner: Thread | null = null;
  private readonly waiters: Thread[] = [];

  constructor(
    readonly kernel: Kernel,
    name?: string,
    opts: LockInit = {},
  ) {
    const site = opts.key ?? kernel.creationSite(name);
    this.dep = new LockdepMap(name ?? site, site, LdWait.SLEEP);
  }

  /**
   * `mutex_lock`. Process context; sleeps. Called where the caller cannot
   * sleep (see `Kernel.sleeping`) it takes a free lock at once and kills
   * the context on a held one.
   */
  lock(): Promise<void> {
    return this.lockVoid(0, null, 'mutex_lock');
  }

  /** `mutex_lock_nested`: the acquisition counts as lockdep subclass `subclass`. */
  lockNested(subclass: number): Promise<void> {
    return this.lockVoid(subclass, null, 'mutex_lock_nested');
  }

  /**
   * `mutex_lock_nest_lock(lock, outer)`: many locks of this class may be
   * held at once, serialised by `outer` (held by the caller): no same-class
   * dependency; "Nested lock was not taken" when `outer` is not held.
   */
  lockNestLock(outer: NestLock): Promise<void> {
    return this.lockVoid(0, nestMapOf(outer), 'mutex_lock_nest_lock');
  }

  /** `mutex_lock_interruptible`: 0, or `-EINTR` if a signal arrives while waiting. */
  lockInterruptible(): Promise<0 | -4> {
    const op = 'mutex_lock_interruptible';
    return this.kernel.sleeping(op, () => this.lockNow(0, null), () => this.lockCommon(0, true, null, op));
  }

  private lockVoid(subclass: number, nestLock: LockdepMap | null, op: string): Promise<void> {
    return this.kernel.sleeping(
      op,
      () => (this.lockNow(subclass, nestLock) === WOULD_SLEEP ? WOULD_SLEEP : undefined),
      async () => {
        await this.lockCommon(subclass, false, nestLock, op);
      },
    );
  }

  /** The uncontended path alone, for callers that cannot sleep. */
  private lockNow(subclass: number, nestLock: LockdepMap | null): 0 | WouldSleep {
    const k = this.kernel;
    if (this.owner !== null) return WOULD_SLEEP;
    const t = k.current;
    k.lockAcquire(this.dep, subclass, false, 0, true, nestLock, t);
    this.owner = t;
    k.hb?.acquire(t, this);
    return 0;
  }

  /** `mutex_trylock`: true if taken. Never sleeps. */
  trylock(): boolean {
    const t = this.kernel.current;
    if (this.owner !== null) return false;
    this.kernel.lockAcquire(this.dep, 0, true, 0, true, null, t);
    this.owner = t;
    this.kernel.hb?.acquire(t, this);
    return true;
  }

  /** `mutex_unlock`. */
  unlock(): void {
    const k = this.kernel;
    const t = k.current;
    if (!debugMutexUnlockCheck(k, t, this.owner, this.dep)) return;
    this.owner = null;
    // debugMutexUnlockCheck already did lockdep's release (it comes first).
    k.hb?.release(t, this);
    const first = this.waiters[0];
    if (first) k.wake(first);
  }

  /** `mutex_is_locked`. */
  isLocked(): boolean {
    return this.owner !== null;
  }

  /** `lockdep_assert_held`. */
  assertHeld(): void {
    assertHeld(this.kernel, this.dep);
  }

  describe(): string {
    return `mutex ${this.dep.name}`;
  }

  get lockMap(): LockdepMap {
    return this.dep;
  }

  owners(): readonly Thread[] {
    return this.owner ? [this.owner] : [];
  }

  private async lockCommon(
    subclass: number,
    interruptible: boolean,
    nestLock: LockdepMap | null,
    op: string,
  ): Promise<0 | -4> {
    const k = this.kernel;
    const t = k.current;
    k.mightSleep(op);
    k.lockAcquire(this.dep, subclass, false, 0, true, nestLock, t);
    await k.schedulePoint(op, this.dep);
    if (this.owner === null) {
      this.owner = t;
      k.hb?.acquire(t, this);
      return 0;
    }
    if (k.events.active) k.emit('lock-contend', { lock: this.dep.name, cls: this.dep.key, holder: this.owner.name });
    this.waiters.push(t);
    // A free lock is taken before a pending signal is looked at, as the
    // kernel's wait loop does (trylock, then signal_pending_state), so a
    // waiter leaving with -EINTR never leaves a free lock behind.
    while (this.owner !== null) {
      if (interruptible && t.signalPending) {
        this.waiters.splice(this.waiters.indexOf(t), 1);
        k.lockRelease(this.dep, t);
        return -Errno.EINTR as -4;
      }
      await k.block(t, this, op, { interruptible });
    }
    this.waiters.splice(this.waiters.indexOf(t), 1);
    this.owner = t;
    k.hb?.acquire(t, this);
    return 0;
  }
}

/**
 * The release half of `mutex_unlock` (shared by `WwMutex`, whose base is a
 * mutex), in the order of `__mutex_unlock_slowpath`: `mutex_release()`
 * through lockdep first, then the DEBUG_MUTEXES owner check. A thread that
 * does not hold the mutex gets lockdep's "bad unlock balance", which turns
 * `debug_locks` off in the kernel, so the owner WARN (`mutex.wrong_owner`)
 * stays silent; the WARN only fires when lockdep's held-lock stack and the
 * owner disagree. As in the kernel the unlock then goes on (a non-owner does
 * release the mutex). Returns false when nobody held it: nothing to unlock.
 *
 * @kernel __mutex_unlock_slowpath, debug_mutex_unlock
 */
export function debugMutexUnlockCheck(k: Kernel, t: Thread, owner: Thread | null, dep: LockdepMap): boolean {
  const held = k.lockRelease(dep, t);
  if (held && owner !== t) {
    k.splat({
      rule: 'mutex.wrong_owner',
      severity: 'warn',
      headline: 'DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)',
      body: `${t.name} unlocks ${dep.name} held by ${owner?.name ?? 'nobody'}`,
      thread: t,
    });
  }
  return owner !== null;
}

/** `lockdep_assert_held(map)`: a WARN splat when the current thread does not hold it. @kernel lockdep_assert_held */
export function assertHeld(k: Kernel, map: LockdepMap, read: -1 | 0 | 1 = -1): void {
  if (k.lockIsHeld(map, read)) return;
  const what = read === 0 ? '_write' : read === 1 ? '_read' : '';
  k.splat({
    rule: 'lockdep.assert_held',
    severity: 'warn',
    headline: `WARNING: lockdep_assert_held${what}(${map.name}) failed`,
    body: `${k.currentOrNull?.name ?? '?'} does not hold ${map.name}${read === -1 ? '' : read === 0 ? ' for writing' : ' for reading'}`,
  });
}

/** `lockdep_assert_not_held(map)`. @kernel lockdep_assert_not_held */
export function assertNotHeld(k: Kernel, map: LockdepMap): void {
  if (!k.lockIsHeld(map)) return;
  k.splat({
    rule: 'lockdep.assert_not_held',
    severity: 'warn',
    headline: `WARNING: lockdep_assert_not_held(${map.name}) failed`,
    body: `${k.currentOrNull?.name ?? '?'} holds ${map.name}`,
  });
}
