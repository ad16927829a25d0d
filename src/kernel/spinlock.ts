import { ThreadKilled } from './kernel.ts';
import type { Kernel } from './kernel.ts';
import { bhEnableIp, irqStateChanged } from './irqflags.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import type { Thread } from './thread.ts';

/** Options shared by lock constructors: an explicit class key, or the creation site by default. */
export interface LockInit {
  /** Lockdep class key; default: the source location that creates the lock. */
  key?: string;
}

/** A lockdep map, or a lock that carries one (`.dep`): what `*_nest_lock` takes as the outer lock. */
export type NestLock = LockdepMap | { readonly dep: LockdepMap };

/** The lockdep map of a nest lock argument. @kernel none: argument normalisation for `*_nest_lock` */
export function nestMapOf(outer: NestLock): LockdepMap {
  return outer instanceof LockdepMap ? outer : outer.dep;
}

/**
 * `spinlock_t` (and `raw_spinlock_t` with `raw: true`). Synchronous: spinning
 * does not exist in a model where threads switch only at awaits, so taking a
 * spinlock that another thread holds means that thread slept while holding it
 * (already a "scheduling while atomic" splat) and this one would spin forever:
 * reported as a lockup and the thread is killed, as the NMI watchdog would.
 *
 * @kernel spin_lock, spin_lock_irq, spin_lock_irqsave, spin_lock_bh, spin_trylock, spin_lock_nested, spin_lock_nest_lock (include/linux/spinlock.h)
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

  /** `spin_lock_nested`: the acquisition counts as lockdep subclass `subclass`. */
  lockNested(subclass: number): void {
    const t = this.kernel.current;
    t.preemptCount++;
    this.kernel.lockAcquire(this.dep, subclass, false, 0, true, null, t);
    this.take(t);
  }

  /**
   * `spin_lock_nest_lock(lock, outer)`: several locks of this class may be
   * held at once because `outer` (held by the caller) serialises whoever
   * takes them: lockdep adds no same-class dependency, and reports "Nested
   * lock was not taken" when `outer` is not held.
   */
  lockNestLock(outer: NestLock): void {
    const t = this.kernel.current;
    t.preemptCount++;
    this.kernel.lockAcquire(this.dep, 0, false, 0, true, nestMapOf(outer), t);
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

  /**
   * `spin_unlock_irq`: unlocks, then `local_irq_enable()`: IRQs are on
   * afterwards whatever the caller had before (use the irqsave form inside
   * an IRQs-off region).
   */
  unlockIrq(): void {
    this.unlock();
    const t = this.kernel.current;
    const hard = t.hardirqsEnabled;
    const soft = t.softirqsEnabled;
    t.irqsDisabled = 0;
    irqStateChanged(t, hard, soft);
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
    const t = this.kernel.current;
    const hard = t.hardirqsEnabled;
    const soft = t.softirqsEnabled;
    t.irqsDisabled = flags;
    irqStateChanged(t, hard, soft);
  }

  /** `spin_lock_bh`: disables softirqs, then locks. */
  lockBh(): void {
    this.kernel.current.bhDisabled++;
    this.lock();
  }

  /**
   * `spin_unlock_bh`: unlocks, then `__local_bh_enable_ip`: with lockdep,
   * calling it with hard IRQs disabled WARNs and leaves IRQs enabled.
   */
  unlockBh(): void {
    this.unlock();
    bhEnableIp(this.kernel, this.kernel.current);
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

  /**
   * `spin_release` then `do_raw_spin_unlock`, in the kernel's order: when
   * lockdep reports the bad unlock balance it turns `debug_locks` off and
   * the spinlock debug BUG ("wrong owner" / "already unlocked") stays silent.
   */
  private release(t: Thread): void {
    const held = this.kernel.lockRelease(this.dep, t);
    if (held && this.owner !== t) {
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
  }
}
