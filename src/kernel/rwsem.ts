import { Errno } from './errno.ts';
import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel, WouldSleep } from './kernel.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import type { LockRead } from './lockdep-map.ts';
import { assertHeld } from './mutex.ts';
import type { LockInit } from './spinlock.ts';
import type { Blocker, Thread } from './thread.ts';

/** A queued `down_read` / `down_write` (`struct rwsem_waiter`). */
interface RwsemWaiter extends Blocker {
  readonly thread: Thread;
  readonly write: boolean;
  /** Set by the waker when it hands the lock over (the kernel's `waiter->task = NULL` grant). */
  granted: boolean;
}

const EINTR = -Errno.EINTR as -4;

/**
 * `struct rw_semaphore`: a sleeping reader/writer lock with a FIFO wait
 * queue. Writer-preferring: a reader queues behind any queued writer (no
 * reader lock stealing), which is what lockdep's non-recursive reader (read =
 * 1) assumes, so `down_read` twice in one task with a writer queued in
 * between deadlocks here as it can in the kernel. A release grants the lock
 * to the head of the queue: one writer, or the run of readers at the head.
 *
 * Deliberate differences: no optimistic spinning, no writer lock stealing
 * (grants are hand-offs); `_killable` waits end on any signal (the model's
 * signals are all fatal). The kernel has no `down_write_interruptible`.
 *
 * @kernel down_read, down_write, up_read, up_write, downgrade_write, *_trylock, *_killable, *_nested (kernel/locking/rwsem.c)
 */
export class RwSemaphore {
  readonly dep: LockdepMap;
  /** The writer holding the lock, if any. */
  writer: Thread | null = null;
  private readonly readerList: Thread[] = [];
  private readonly queue: RwsemWaiter[] = [];

  constructor(
    readonly kernel: Kernel,
    name?: string,
    opts: LockInit = {},
  ) {
    const site = opts.key ?? kernel.creationSite(name);
    this.dep = new LockdepMap(name ?? site, site, LdWait.SLEEP);
  }

  /** Number of readers holding the lock. */
  get readers(): number {
    return this.readerList.length;
  }

  /** Threads holding the lock (the writer, or every reader). */
  get holders(): readonly Thread[] {
    return this.writer ? [this.writer] : this.readerList;
  }

  /** `down_read`. Process context; sleeps. */
  downRead(): Promise<void> {
    return this.downVoid(false, 0, false, 'down_read');
  }

  /** `down_read_nested`: the acquisition counts as lockdep subclass `subclass`. */
  downReadNested(subclass: number): Promise<void> {
    return this.downVoid(false, subclass, false, 'down_read_nested');
  }

  /** `down_read_interruptible`: 0, or `-EINTR` if a signal arrives while waiting. */
  downReadInterruptible(): Promise<0 | -4> {
    return this.down(false, 0, true, 'down_read_interruptible');
  }

  /** `down_read_killable`: 0, or `-EINTR` on a (fatal) signal. */
  downReadKillable(): Promise<0 | -4> {
    return this.down(false, 0, true, 'down_read_killable');
  }

  /** `down_read_trylock`: true if taken; fails while a writer holds or waits. Never sleeps. */
  downReadTrylock(): boolean {
    const t = this.kernel.current;
    if (this.writer !== null || this.queue.length > 0) return false;
    this.kernel.lockAcquire(this.dep, 0, true, 1, true, null, t);
    this.readerList.push(t);
    this.kernel.hb?.acquireShared(t, this);
    return true;
  }

  /**
   * `up_read`. As in the kernel, lockdep's release comes first (a bad unlock
   * balance is reported before the rwsem's own DEBUG_RWSEMS warning, which
   * lockdep does not silence).
   */
  upRead(): void {
    const k = this.kernel;
    const t = k.current;
    k.lockRelease(this.dep, t);
    const i = this.readerList.indexOf(t);
    if (i < 0) {
      k.splat({
        rule: 'rwsem.bad_up_read',
        severity: 'warn',
        headline: 'DEBUG_RWSEMS_WARN_ON(!is_rwsem_reader_owned(sem))',
        body: `${t.name} calls up_read(${this.dep.name}) without holding it for reading` +
          (this.writer ? ` (write-held by ${this.writer.name})` : ''),
        thread: t,
      });
      return;
    }
    this.readerList.splice(i, 1);
    k.hb?.releaseShared(t, this);
    this.grant();
  }

  /** `down_write`. Process context; sleeps. */
  downWrite(): Promise<void> {
    return this.downVoid(true, 0, false, 'down_write');
  }

  /** `down_write_nested`. */
  downWriteNested(subclass: number): Promise<void> {
    return this.downVoid(true, subclass, false, 'down_write_nested');
  }

  /** `down_write_killable`: 0, or `-EINTR` on a (fatal) signal. */
  downWriteKillable(): Promise<0 | -4> {
    return this.down(true, 0, true, 'down_write_killable');
  }

  /** `down_write_trylock`: true if taken; fails while held or while anyone waits. Never sleeps. */
  downWriteTrylock(): boolean {
    const t = this.kernel.current;
    if (this.writer !== null || this.readerList.length > 0 || this.queue.length > 0) return false;
    this.kernel.lockAcquire(this.dep, 0, true, 0, true, null, t);
    this.writer = t;
    this.kernel.hb?.acquire(t, this);
    return true;
  }

  /**
   * `up_write`: lockdep's release first, then the DEBUG_RWSEMS owner
   * warning (`rwsem_release` precedes `__up_write`).
   */
  upWrite(): void {
    const k = this.kernel;
    const t = k.current;
    k.lockRelease(this.dep, t);
    if (this.writer !== t) {
      k.splat({
        rule: 'rwsem.wrong_owner',
        severity: 'warn',
        headline: 'DEBUG_RWSEMS_WARN_ON((rwsem_owner(sem) != current) && !rwsem_test_oflags(sem, RWSEM_NONSPINNABLE))',
        body: `${t.name} calls up_write(${this.dep.name}) held by ${this.writer?.name ?? (this.readerList.length ? 'readers' : 'nobody')}`,
        thread: t,
      });
      if (this.writer === null) return;
    }
    this.writer = null;
    k.hb?.release(t, this);
    this.grant();
  }

  /**
   * `downgrade_write`: turn the caller's write hold into a read hold without
   * releasing it; queued readers at the head may now enter.
   */
  downgradeWrite(): void {
    const k = this.kernel;
    const t = k.current;
    if (this.writer !== t) {
      k.splat({
        rule: 'rwsem.wrong_owner',
        severity: 'warn',
        headline: 'DEBUG_RWSEMS_WARN_ON(rwsem_owner(sem) != current)',
        body: `${t.name} calls downgrade_write(${this.dep.name}) held by ${this.writer?.name ?? 'nobody'}`,
        thread: t,
      });
      return;
    }
    this.writer = null;
    this.readerList.push(t);
    // Readers let in now see what the writer did.
    k.hb?.release(t, this);
    k.lockDowngrade(this.dep, t);
    this.grant();
  }

  /** `rwsem_is_locked`. */
  isLocked(): boolean {
    return this.writer !== null || this.readerList.length > 0;
  }

  /** `rwsem_is_contended`: someone is queued. */
  isContended(): boolean {
    return this.queue.length > 0;
  }

  /** `lockdep_assert_held` (-1), `_held_write` (0), `_held_read` (1). */
  assertHeld(read: -1 | 0 | 1 = -1): void {
    assertHeld(this.kernel, this.dep, read);
  }

  // ---------------------------------------------------------------- internals

  private downVoid(write: boolean, subclass: number, interruptible: boolean, op: string): Promise<void> {
    return this.kernel.sleeping(
      op,
      () => (this.downNow(write, subclass) === WOULD_SLEEP ? WOULD_SLEEP : undefined),
      async () => {
        await this.downSlow(write, subclass, interruptible, op);
      },
    );
  }

  /**
   * `down_*`: where the caller cannot sleep (`Kernel.sleeping`) a free
   * semaphore is taken at once and a held one kills the context.
   */
  private down(write: boolean, subclass: number, interruptible: boolean, op: string): Promise<0 | -4> {
    return this.kernel.sleeping(op, () => this.downNow(write, subclass), () => this.downSlow(write, subclass, interruptible, op));
  }

  /** The uncontended path alone, for callers that cannot sleep. */
  private downNow(write: boolean, subclass: number): 0 | WouldSleep {
    const free = write ? this.writer === null && this.readerList.length === 0 : this.writer === null;
    if (!free || this.queue.length > 0) return WOULD_SLEEP;
    const t = this.kernel.current;
    this.kernel.lockAcquire(this.dep, subclass, false, write ? 0 : 1, true, null, t);
    this.take(t, write);
    return 0;
  }

  private async downSlow(write: boolean, subclass: number, interruptible: boolean, op: string): Promise<0 | -4> {
    const k = this.kernel;
    const t = k.current;
    k.mightSleep(op);
    const read: LockRead = write ? 0 : 1;
    k.lockAcquire(this.dep, subclass, false, read, true, null, t);
    await k.schedulePoint(op, this.dep);
    const free = write ? this.writer === null && this.readerList.length === 0 : this.writer === null;
    if (free && this.queue.length === 0) {
      this.take(t, write);
      return 0;
    }
    if (k.events.active) {
      k.emit('lock-contend', { lock: this.dep.name, cls: this.dep.key, holder: this.holders[0]?.name ?? null });
    }
    const w = this.waiter(t, write);
    this.queue.push(w);
    while (!w.granted) {
      if (interruptible && t.signalPending) {
        this.queue.splice(this.queue.indexOf(w), 1);
        k.lockRelease(this.dep, t);
        // A writer leaving the head may unblock the readers behind it.
        this.grant();
        return EINTR;
      }
      await k.block(t, w, op, { interruptible });
    }
    return 0;
  }

  private take(t: Thread, write: boolean): void {
    if (write) this.writer = t;
    else this.readerList.push(t);
    const hb = this.kernel.hb;
    if (hb !== null) {
      if (write) hb.acquire(t, this);
      else hb.acquireShared(t, this);
    }
  }

  /** Hand the lock to the head of the queue: one writer, or every reader up to the first writer. */
  private grant(): void {
    const k = this.kernel;
    while (this.queue.length > 0 && this.writer === null) {
      const head = this.queue[0]!;
      if (head.write && this.readerList.length > 0) return;
      this.queue.shift();
      head.granted = true;
      this.take(head.thread, head.write);
      k.wake(head.thread);
      if (head.write) return;
    }
  }

  private waiter(t: Thread, write: boolean): RwsemWaiter {
    // Whoever must act first: the holders, plus the writers queued ahead of us.
    const owners = (w: RwsemWaiter): readonly Thread[] => {
      const ahead = this.queue.slice(0, Math.max(0, this.queue.indexOf(w))).filter((q) => q.write).map((q) => q.thread);
      return [...this.holders, ...ahead];
    };
    const w: RwsemWaiter = {
      thread: t,
      write,
      granted: false,
      lockMap: this.dep,
      describe: () => `rwsem ${this.dep.name} (${write ? 'write' : 'read'})`,
      owners: () => owners(w),
    };
    return w;
  }
}
