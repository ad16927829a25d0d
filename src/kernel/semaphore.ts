import { Errno } from './errno.ts';
import { INT_MAX, signedTimeout, wholeArg } from './args.ts';
import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel, WouldSleep } from './kernel.ts';
import type { LockdepMap } from './lockdep-map.ts';
import type { Blocker, Thread } from './thread.ts';

/** A task sleeping in `down*` (`struct semaphore_waiter`). */
interface SemaphoreWaiter extends Blocker {
  readonly thread: Thread;
  /** Set by `up` when it hands the semaphore over (`waiter->up = true`). */
  up: boolean;
}

/** Options of `new Semaphore`. */
export interface SemaphoreOptions {
  /**
   * A lockdep map to acquire on `down` and release on `up`, as
   * `console_lock()` does with `console_lock_dep_map` around `console_sem`:
   * the semaphore itself has no lockdep map in the kernel, so any lockdep
   * tracking is such a wrapper. Acquired exclusively after the semaphore was
   * obtained (a trylock acquisition for `down_trylock`), released by `up`
   * before the semaphore is released. The map is bound to the task that
   * took it, as every lockdep acquisition is, although the semaphore is not:
   * an `up` from another task is then lockdep's bad unlock balance, in the
   * kernel as here.
   */
  lockdep?: LockdepMap;
}

/**
 * `struct semaphore`: a counting semaphore. `down*` takes one unit, sleeping
 * (FIFO) while the count is zero; `up` returns one, handing it directly to
 * the first sleeper if there is one. Not owned: `up` may come from any task
 * or context, and may exceed the initial count. No lockdep map of its own
 * and no debug checks, as in the kernel (see `SemaphoreOptions.lockdep` for
 * the console_lock-style annotation). `down_trylock` and `up` may be called
 * from any context; the sleeping forms are process context.
 *
 * The waiters' "owners" for deadlock reports are unknown (anybody may `up`);
 * the last holder is shown, like CONFIG_DETECT_HUNG_TASK_BLOCKER. For the
 * race detector a `down` acquires and an `up` releases, whoever calls them.
 * Called from a synchronous callback (fence callback, IRQ handler), a
 * `down*` takes a free unit at once, times out (`down_timeout`) or is
 * reported and kills the context (`Kernel.sleeping`).
 *
 * @kernel sema_init, down, down_interruptible, down_killable, down_trylock, down_timeout, up (kernel/locking/semaphore.c)
 */
export class Semaphore {
  /** Units left (`count`). */
  count: number;
  /** The task that last took a unit (`last_holder`), for reports. */
  lastHolder: Thread | null = null;
  private readonly waitList: SemaphoreWaiter[] = [];

  /** `sema_init(sem, val)`. */
  constructor(
    readonly kernel: Kernel,
    val: number,
    readonly name = 'semaphore',
    readonly opts: SemaphoreOptions = {},
  ) {
    this.count = wholeArg(`new Semaphore(k, val) (sema_init of ${name})`, 'val', val, '(the initial count, int)', INT_MAX);
  }

  /** `down`: take a unit, sleeping uninterruptibly until one is available. Process context. */
  down(): Promise<void> {
    const op = 'down';
    return this.kernel.sleeping(
      op,
      () => (this.takeNow() === WOULD_SLEEP ? WOULD_SLEEP : undefined),
      async () => {
        await this.downCommon(op, false, Number.POSITIVE_INFINITY);
      },
    );
  }

  /** `down_interruptible`: 0, or `-EINTR` if a signal arrives while sleeping. */
  downInterruptible(): Promise<number> {
    const op = 'down_interruptible';
    return this.kernel.sleeping(op, () => this.takeNow(), () => this.downCommon(op, true, Number.POSITIVE_INFINITY));
  }

  /** `down_killable`: 0, or `-EINTR` on a (fatal) signal; the model's signals are all fatal. */
  downKillable(): Promise<number> {
    const op = 'down_killable';
    return this.kernel.sleeping(op, () => this.takeNow(), () => this.downCommon(op, true, Number.POSITIVE_INFINITY));
  }

  /** `down_timeout(sem, jiffies)`: 0, or `-ETIME` if no unit came within the timeout. */
  downTimeout(timeoutJiffies: number): Promise<number> {
    timeoutJiffies = signedTimeout(this.kernel, 'Semaphore.downTimeout(timeoutJiffies)', 'timeoutJiffies', timeoutJiffies);
    const op = 'down_timeout';
    return this.kernel.sleeping(op, () => this.takeNow(), () => this.downCommon(op, false, timeoutJiffies), () => -Errno.ETIME);
  }

  /** The path without sleeping (a unit is free), for callers that cannot sleep. */
  private takeNow(): 0 | WouldSleep {
    const k = this.kernel;
    k.touch(this);
    if (this.count <= 0) return WOULD_SLEEP;
    this.acquire(k.current, false);
    return 0;
  }

  /**
   * `down_trylock`: 0 if a unit was taken, **1** if none was available (the
   * inverse of `spin_trylock` / `mutex_trylock`). Never sleeps; any context.
   */
  downTrylock(): number {
    const t = this.kernel.current;
    this.kernel.touch(this);
    if (this.count <= 0) return 1;
    this.acquire(t, true);
    return 0;
  }

  /**
   * `up`: give a unit back: to the first sleeper if any (it wakes owning
   * it), else to the count. Any context, any task.
   */
  up(): void {
    const k = this.kernel;
    const t = k.currentOrNull;
    k.touch(this);
    if (this.opts.lockdep && t) k.lockRelease(this.opts.lockdep, t);
    // The next taker (a woken sleeper or a later down) sees what the upper did.
    k.hb?.release(t, this);
    if (this.lastHolder === t) this.lastHolder = null;
    const w = this.waitList.shift();
    if (!w) {
      this.count++;
      return;
    }
    w.up = true;
    k.wake(w.thread);
  }

  private async downCommon(op: string, interruptible: boolean, timeoutJiffies: number): Promise<number> {
    const k = this.kernel;
    const t = k.current;
    k.mightSleep(op);
    await k.schedulePoint(op);
    // The count is shared state: steps that take or give units do not commute (the explorer's step observer).
    k.touch(this);
    if (this.count > 0) {
      this.acquire(t, false);
      return 0;
    }
    if (k.events.active) k.emit('lock-contend', { lock: this.name, cls: this.name, holder: this.lastHolder?.name ?? null });
    const w: SemaphoreWaiter = {
      thread: t,
      up: false,
      describe: () => `semaphore ${this.name}${this.lastHolder ? ` (last held by ${this.lastHolder.name})` : ''}`,
      owners: () => [],
    };
    this.waitList.push(w);
    const deadlineNs = timeoutJiffies === Number.POSITIVE_INFINITY ? timeoutJiffies : k.nowNs + k.jiffiesToNs(timeoutJiffies);
    for (;;) {
      if (interruptible && t.signalPending) return this.leave(w, -Errno.EINTR);
      if (k.nowNs >= deadlineNs) return this.leave(w, -Errno.ETIME);
      await k.block(t, w, op, {
        interruptible,
        ...(deadlineNs === Number.POSITIVE_INFINITY ? {} : { timeoutNs: deadlineNs - k.nowNs }),
      });
      if (w.up) {
        this.acquired(t, false);
        return 0;
      }
    }
  }

  private leave(w: SemaphoreWaiter, err: number): number {
    this.waitList.splice(this.waitList.indexOf(w), 1);
    return err;
  }

  /** `__sem_acquire`: take a unit from the count. */
  private acquire(t: Thread, trylock: boolean): void {
    this.count--;
    this.acquired(t, trylock);
  }

  private acquired(t: Thread, trylock: boolean): void {
    this.lastHolder = t;
    this.kernel.hb?.acquire(t, this);
    if (this.opts.lockdep) this.kernel.lockAcquire(this.opts.lockdep, 0, trylock, 0, true, null, t);
  }

  /** Tasks sleeping in `down*`, oldest first. */
  get waiters(): readonly Thread[] {
    return this.waitList.map((w) => w.thread);
  }
}
