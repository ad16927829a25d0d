import { Errno } from './errno.ts';
import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel, WouldSleep } from './kernel.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import type { LockInit } from './spinlock.ts';
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

  /** `mutex_lock_nest_lock`: many locks of this class are serialized by `outer`. */
  lockNestLock(outer: LockdepMap): Promise<void> {
    return this.lockVoid(0, outer, 'mutex_lock_nest_lock');
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
    k.hb?.release(t, this);
    k.lockRelease(this.dep, t);
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
 * The DEBUG_MUTEXES owner check of `mutex_unlock` (shared by `WwMutex`,
 * whose base is a mutex): WARN when `t` is not the owner. Returns false when
 * the lock was not held at all; the lockdep entry is then dropped and there
 * is nothing to unlock.
 */
export function debugMutexUnlockCheck(k: Kernel, t: Thread, owner: Thread | null, dep: LockdepMap): boolean {
  if (owner === t) return true;
  k.splat({
    rule: 'mutex.wrong_owner',
    severity: 'warn',
    headline: 'DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)',
    body: `${t.name} unlocks ${dep.name} held by ${owner?.name ?? 'nobody'}`,
    thread: t,
  });
  if (owner !== null) return true;
  k.lockRelease(dep, t);
  return false;
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
