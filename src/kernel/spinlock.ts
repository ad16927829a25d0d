import { ThreadKilled } from './kernel.ts';
import type { Kernel } from './kernel.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import type { Thread } from './thread.ts';

/** Options shared by lock constructors: an explicit class key, or the creation site by default. */
export interface LockInit {
  /** Lockdep class key; default: the source location that creates the lock. */
  key?: string;
}

/**
 * `spinlock_t` (and `raw_spinlock_t` with `raw: true`). Synchronous: spinning
 * does not exist in a model where threads switch only at awaits, so taking a
 * spinlock that another thread holds means that thread slept while holding it
 * (already a "scheduling while atomic" splat) and this one would spin forever:
 * reported as a lockup and the thread is killed, as the NMI watchdog would.
 *
 * @kernel spin_lock, spin_lock_irq, spin_lock_irqsave, spin_lock_bh, spin_trylock (include/linux/spinlock.h)
 */
export class SpinLock {
  readonly dep: LockdepMap;
  owner: Thread | null = null;

  constructor(
    readonly kernel: Kernel,
    name?: string,
    opts: LockInit & { raw?: boolean } = {},
  ) {
    const site = opts.key ?? kernel.creationSite(name);
    this.dep = new LockdepMap(name ?? site, site, opts.raw ? LdWait.SPIN : LdWait.CONFIG);
  }

  /** `spin_lock`. Atomic context afterwards. */
  lock(): void {
    this.lockNested(0);
  }

  /** `spin_lock_nested`. */
  lockNested(subclass: number): void {
    const t = this.kernel.current;
    t.preemptCount++;
    this.kernel.lockAcquire(this.dep, subclass, false, 0, true, null, t);
    this.take(t);
  }

  /** `spin_unlock`. */
  unlock(): void {
    const t = this.kernel.current;
    this.release(t);
    t.preemptCount--;
  }

  /** `spin_lock_irq`: disables local interrupts, then locks. */
  lockIrq(): void {
    this.kernel.current.irqsDisabled++;
    this.lock();
  }

  /** `spin_unlock_irq`. */
  unlockIrq(): void {
    this.unlock();
    this.kernel.current.irqsDisabled--;
  }

  /** `spin_lock_irqsave`: returns the flags to pass to `unlockIrqrestore`. */
  lockIrqsave(): number {
    const t = this.kernel.current;
    const flags = t.irqsDisabled;
    t.irqsDisabled++;
    this.lock();
    return flags;
  }

  /** `spin_unlock_irqrestore`. */
  unlockIrqrestore(flags: number): void {
    this.unlock();
    this.kernel.current.irqsDisabled = flags;
  }

  /** `spin_lock_bh`: disables softirqs, then locks. */
  lockBh(): void {
    this.kernel.current.bhDisabled++;
    this.lock();
  }

  /** `spin_unlock_bh`. */
  unlockBh(): void {
    this.unlock();
    this.kernel.current.bhDisabled--;
  }

  /** `spin_trylock`: true if taken. */
  trylock(): boolean {
    const t = this.kernel.current;
    if (this.owner !== null) return false;
    t.preemptCount++;
    this.kernel.lockAcquire(this.dep, 0, true, 0, true, null, t);
    this.owner = t;
    this.kernel.hb?.acquire(t, this);
    return true;
  }

  /** `spin_is_locked`. */
  isLocked(): boolean {
    return this.owner !== null;
  }

  /** `lockdep_assert_held`. */
  assertHeld(): void {
    const k = this.kernel;
    if (!k.lockIsHeld(this.dep)) {
      k.splat({
        rule: 'lockdep.assert_held',
        severity: 'warn',
        headline: `WARNING: lockdep_assert_held(${this.dep.name}) failed`,
        body: `${k.currentOrNull?.name ?? '?'} does not hold ${this.dep.name}`,
      });
    }
  }

  private take(t: Thread): void {
    const k = this.kernel;
    if (this.owner === null) {
      this.owner = t;
      k.hb?.acquire(t, this);
      return;
    }
    const recursion = this.owner === t;
    k.splat({
      rule: recursion ? 'spinlock.recursion' : 'spinlock.lockup',
      severity: 'bug',
      headline: recursion
        ? `BUG: spinlock recursion on CPU#0, ${t.name}/${t.id}`
        : `BUG: spinlock lockup suspected on CPU#0, ${t.name}/${t.id}`,
      body: ` lock: ${this.dep.name}, .owner: ${this.owner.name}/${this.owner.id}\n` +
        (recursion ? '' : `${this.owner.name} slept while holding it (see the scheduling-while-atomic report)`),
      thread: t,
    });
    throw new ThreadKilled(-1);
  }

  private release(t: Thread): void {
    if (this.owner !== t) {
      this.kernel.splat({
        rule: 'spinlock.wrong_owner',
        severity: 'bug',
        headline: `BUG: spinlock ${this.owner ? 'wrong owner' : 'already unlocked'} on CPU#0, ${t.name}/${t.id}`,
        body: ` lock: ${this.dep.name}, .owner: ${this.owner?.name ?? '<none>'}`,
        thread: t,
      });
    }
    this.owner = null;
    this.kernel.hb?.release(t, this);
    this.kernel.lockRelease(this.dep, t);
  }
}
