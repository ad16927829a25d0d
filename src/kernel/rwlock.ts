import { ThreadKilled } from './run-types.ts';
import type { Kernel } from './kernel.ts';
import { bhEnableIp, irqStateChanged } from './irqflags.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import type { LockRead } from './lockdep-map.ts';
import { assertHeld } from './mutex.ts';
import type { LockInit } from './spinlock.ts';
import type { Thread } from './thread.ts';

const forced = new WeakMap<Kernel, boolean>();

/**
 * Set `force_read_lock_recursive` for kernel `k`: with it on, lockdep sees
 * every `read_lock` as a recursive reader (read = 2), as `lib/locking-selftest.c`
 * does for its rwlock cases. Off by default, as on every kernel built with
 * CONFIG_QUEUED_RWLOCKS (x86, arm64, riscv, ...): there a `read_lock` in
 * process context is a non-recursive reader (read = 1), because a queued
 * rwlock makes a new reader wait behind a waiting writer, and only readers
 * in interrupt context (hardirq, softirq, bottom halves disabled) are
 * recursive. Call it from `setup` (before the run) or from a thread.
 *
 * @kernel force_read_lock_recursive (lib/locking-selftest.c)
 */
export function setForceReadLockRecursive(k: Kernel, on: boolean): void {
  forced.set(k, on);
}

/**
 * `read_lock_is_recursive()`: forced by the selftest switch, or the reader
 * is in interrupt context (`in_interrupt()`: hardirq, softirq, or bottom
 * halves disabled, e.g. `read_lock_bh`), where a queued rwlock lets readers
 * in while a writer waits.
 *
 * @kernel read_lock_is_recursive (kernel/locking/lockdep.c)
 */
export function readLockIsRecursive(k: Kernel, t: Thread = k.current): boolean {
  return (forced.get(k) ?? false) || t.context !== 'process' || t.bhDisabled > 0;
}

/**
 * `rwlock_t`: a spinning reader/writer lock. Taking it is synchronous and
 * makes the caller atomic (preemption disabled), like a spinlock. Readers
 * share it; a writer excludes everybody. For lockdep a reader is recursive
 * (read = 2) or not (read = 1) as `readLockIsRecursive` decides at each
 * acquisition; a writer is exclusive. Class wait type `LD_WAIT_CONFIG`
 * (a sleeping lock on PREEMPT_RT), as `spinlock_t`.
 *
 * As with `SpinLock`, spinning does not exist here: taking the lock against
 * another holder means that holder slept while holding it (already a
 * "scheduling while atomic" report) and the caller would spin forever; it is
 * reported as a lockup and the thread is killed, as the watchdog would.
 * There are no queued writers either (a writer cannot wait in a model where
 * spinning is synchronous), so the reader/writer fairness of a queued rwlock
 * shows only through lockdep's read modes.
 *
 * Unlocking goes through lockdep first (`rwlock_release` before
 * `do_raw_*_unlock`): a bad unlock balance turns `debug_locks` off in the
 * kernel and the DEBUG_SPINLOCK "rwlock wrong owner" BUG stays silent.
 *
 * @kernel rwlock_init, read_lock, read_unlock, write_lock, write_unlock and their _irq, _irqsave, _bh forms, read_trylock, write_trylock (include/linux/rwlock.h, kernel/locking/spinlock_debug.c)
 */
export class RwLock {
  readonly dep: LockdepMap;
  /** The writer holding the lock, if any (`lock->owner`). */
  writer: Thread | null = null;
  private readonly readerList: Thread[] = [];

  /** `rwlock_init`: the class is the creation site unless `opts.key` names one. */
  constructor(
    readonly kernel: Kernel,
    name?: string,
    opts: LockInit = {},
  ) {
    const site = opts.key ?? kernel.creationSite(name);
    this.dep = new LockdepMap(name ?? site, site, LdWait.CONFIG);
  }

  /** Number of read holds. */
  get readers(): number {
    return this.readerList.length;
  }

  // ------------------------------------------------------------------ read

  /** `read_lock`. Atomic context afterwards. */
  readLock(): void {
    const t = this.kernel.current;
    t.preemptCount++;
    this.kernel.lockAcquire(this.dep, 0, false, this.readMode(t), true, null, t);
    this.takeRead(t);
  }

  /** `read_unlock`. */
  readUnlock(): void {
    const t = this.kernel.current;
    this.releaseRead(t);
    t.preemptCount--;
  }

  /** `read_lock_irq`: disable local interrupts, then read-lock. */
  readLockIrq(): void {
    this.kernel.current.irqsDisabled++;
    this.readLock();
  }

  /** `read_unlock_irq`: unlock, then `local_irq_enable()`. */
  readUnlockIrq(): void {
    this.readUnlock();
    irqEnable(this.kernel.current);
  }

  /** `read_lock_irqsave`: returns the flags for `readUnlockIrqrestore`. */
  readLockIrqsave(): number {
    const t = this.kernel.current;
    const flags = t.irqsDisabled;
    t.irqsDisabled++;
    this.readLock();
    return flags;
  }

  /** `read_unlock_irqrestore`. */
  readUnlockIrqrestore(flags: number): void {
    this.readUnlock();
    irqRestore(this.kernel.current, flags);
  }

  /** `read_lock_bh`: disable softirqs first, so the reader is recursive (`in_interrupt()`). */
  readLockBh(): void {
    this.kernel.current.bhDisabled++;
    this.readLock();
  }

  /** `read_unlock_bh`: unlock, then `__local_bh_enable_ip` (WARNs with IRQs disabled under lockdep). */
  readUnlockBh(): void {
    this.readUnlock();
    bhEnableIp(this.kernel, this.kernel.current);
  }

  /** `read_trylock`: true if taken (fails only while a writer holds it). */
  readTrylock(): boolean {
    const t = this.kernel.current;
    if (this.writer !== null) return false;
    t.preemptCount++;
    this.kernel.lockAcquire(this.dep, 0, true, this.readMode(t), true, null, t);
    this.readerList.push(t);
    this.kernel.hb?.acquireShared(t, this);
    return true;
  }

  // ----------------------------------------------------------------- write

  /** `write_lock`. Atomic context afterwards. */
  writeLock(): void {
    const t = this.kernel.current;
    t.preemptCount++;
    this.kernel.lockAcquire(this.dep, 0, false, 0, true, null, t);
    this.takeWrite(t);
  }

  /** `write_unlock`. */
  writeUnlock(): void {
    const t = this.kernel.current;
    this.releaseWrite(t);
    t.preemptCount--;
  }

  /** `write_lock_irq`. */
  writeLockIrq(): void {
    this.kernel.current.irqsDisabled++;
    this.writeLock();
  }

  /** `write_unlock_irq`: unlock, then `local_irq_enable()`. */
  writeUnlockIrq(): void {
    this.writeUnlock();
    irqEnable(this.kernel.current);
  }

  /** `write_lock_irqsave`: returns the flags for `writeUnlockIrqrestore`. */
  writeLockIrqsave(): number {
    const t = this.kernel.current;
    const flags = t.irqsDisabled;
    t.irqsDisabled++;
    this.writeLock();
    return flags;
  }

  /** `write_unlock_irqrestore`. */
  writeUnlockIrqrestore(flags: number): void {
    this.writeUnlock();
    irqRestore(this.kernel.current, flags);
  }

  /** `write_lock_bh`. */
  writeLockBh(): void {
    this.kernel.current.bhDisabled++;
    this.writeLock();
  }

  /** `write_unlock_bh`. */
  writeUnlockBh(): void {
    this.writeUnlock();
    bhEnableIp(this.kernel, this.kernel.current);
  }

  /** `write_trylock`: true if taken (fails while anybody holds it). */
  writeTrylock(): boolean {
    const t = this.kernel.current;
    if (this.writer !== null || this.readerList.length > 0) return false;
    t.preemptCount++;
    this.kernel.lockAcquire(this.dep, 0, true, 0, true, null, t);
    this.writer = t;
    this.kernel.hb?.acquire(t, this);
    return true;
  }

  // ------------------------------------------------------------- queries

  /** True while held in any mode. */
  isLocked(): boolean {
    return this.writer !== null || this.readerList.length > 0;
  }

  /** `lockdep_assert_held` (-1), `_held_write` (0), `_held_read` (1). */
  assertHeld(read: -1 | 0 | 1 = -1): void {
    assertHeld(this.kernel, this.dep, read);
  }

  // ----------------------------------------------------------- internals

  private readMode(t: Thread): LockRead {
    return readLockIsRecursive(this.kernel, t) ? 2 : 1;
  }

  private takeRead(t: Thread): void {
    if (this.writer === null) {
      this.readerList.push(t);
      this.kernel.hb?.acquireShared(t, this);
      return;
    }
    this.lockup(t, this.writer, 'read_lock');
  }

  private takeWrite(t: Thread): void {
    if (this.writer === null && this.readerList.length === 0) {
      this.writer = t;
      this.kernel.hb?.acquire(t, this);
      return;
    }
    const k = this.kernel;
    if (this.writer === t) {
      k.splat({
        rule: 'rwlock.recursion',
        severity: 'bug',
        headline: `BUG: rwlock recursion on CPU#0, ${t.name}/${t.id}`,
        body: ` lock: ${this.dep.name}, .owner: ${t.name}/${t.id}`,
        thread: t,
      });
      throw new ThreadKilled(-1);
    }
    this.lockup(t, this.writer ?? this.readerList[0]!, 'write_lock');
  }

  private lockup(t: Thread, holder: Thread, op: string): never {
    this.kernel.splat({
      rule: 'rwlock.lockup',
      severity: 'bug',
      headline: `watchdog: BUG: soft lockup - CPU#0 stuck in ${op}(${this.dep.name}), ${t.name}/${t.id}`,
      body:
        ` lock: ${this.dep.name}, held by ${holder.name}/${holder.id} (${this.writer ? 'writer' : 'reader'})\n` +
        (holder === t
          ? `${t.name} spins on a lock it holds itself`
          : `${holder.name} slept while holding it (see the scheduling-while-atomic report)`),
      thread: t,
    });
    throw new ThreadKilled(-1);
  }

  private releaseRead(t: Thread): void {
    this.kernel.lockRelease(this.dep, t);
    // do_raw_read_unlock has no owner check: a read hold just goes away.
    const i = this.readerList.lastIndexOf(t);
    if (i >= 0) {
      this.readerList.splice(i, 1);
      this.kernel.hb?.releaseShared(t, this);
    }
  }

  private releaseWrite(t: Thread): void {
    const k = this.kernel;
    const held = k.lockRelease(this.dep, t);
    if (held && this.writer !== t) {
      k.splat({
        rule: 'rwlock.wrong_owner',
        severity: 'bug',
        headline: `BUG: rwlock wrong owner on CPU#0, ${t.name}/${t.id}`,
        body: ` lock: ${this.dep.name}, .owner: ${this.writer?.name ?? '<none>'}`,
        thread: t,
      });
    }
    const had = this.writer !== null;
    this.writer = null;
    if (had) k.hb?.release(t, this);
  }
}

/** `local_irq_enable()` after an `_irq` unlock. */
function irqEnable(t: Thread): void {
  const hard = t.hardirqsEnabled;
  const soft = t.softirqsEnabled;
  t.irqsDisabled = 0;
  irqStateChanged(t, hard, soft);
}

/** `local_irq_restore(flags)` after an `_irqrestore` unlock. */
function irqRestore(t: Thread, flags: number): void {
  const hard = t.hardirqsEnabled;
  const soft = t.softirqsEnabled;
  t.irqsDisabled = flags;
  irqStateChanged(t, hard, soft);
}
