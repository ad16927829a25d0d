import { Errno } from './errno.ts';
import { jiffiesArg, signedTimeout } from './args.ts';
import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel } from './kernel.ts';
import type { Blocker, Thread } from './thread.ts';

/**
 * `wait_queue_head_t` with the `wait_event*` family. Conditions are
 * re-evaluated after every wake-up, exactly like the kernel macros; a wait is
 * a scheduling point even when the condition already holds.
 *
 * Timeouts are in jiffies, as in the kernel; `MAX_SCHEDULE_TIMEOUT`
 * (`Infinity`) never expires.
 *
 * @kernel include/linux/wait.h, kernel/sched/wait.c
 */
export class WaitQueueHead implements Blocker {
  private readonly waiters: Thread[] = [];

  constructor(
    readonly kernel: Kernel,
    readonly name = 'waitqueue',
    /** Threads known to wake this queue (for deadlock reports); optional. */
    private readonly wakers: () => readonly Thread[] = () => [],
  ) {}

  describe(): string {
    return `wait queue ${this.name}`;
  }

  owners(): readonly Thread[] {
    return this.wakers();
  }

  /**
   * `wait_event`: sleep uninterruptibly until `cond()` holds. Where the
   * caller cannot sleep (`Kernel.sleeping`) a true condition returns at
   * once and a false one kills the context; the timeout variants then end
   * at once as timed out.
   */
  waitEvent(cond: () => boolean): Promise<void> {
    return this.kernel.sleeping(
      'wait_event',
      () => (this.now(cond) ? undefined : WOULD_SLEEP),
      async () => {
        await this.wait(cond, Number.POSITIVE_INFINITY, false, 'wait_event');
      },
    );
  }

  /**
   * `wait_event_timeout`: 0 if `cond` is still false when the timeout
   * elapses, 1 if it became true just as it elapsed, otherwise the remaining
   * jiffies (at least 1).
   */
  waitEventTimeout(cond: () => boolean, timeoutJiffies: number): Promise<number> {
    timeoutJiffies = signedTimeout(this.kernel, 'waitEventTimeout(cond, timeoutJiffies)', 'timeoutJiffies', timeoutJiffies);
    return this.kernel.sleeping(
      'wait_event_timeout',
      () => (this.now(cond) ? Math.max(1, timeoutJiffies) : WOULD_SLEEP),
      () => this.wait(cond, timeoutJiffies, false, 'wait_event_timeout'),
      () => 0,
    );
  }

  /** `wait_event_interruptible`: 0, or `-ERESTARTSYS` on a signal. */
  waitEventInterruptible(cond: () => boolean): Promise<number> {
    return this.kernel.sleeping(
      'wait_event_interruptible',
      () => (this.now(cond) ? 0 : WOULD_SLEEP),
      async () => {
        const r = await this.wait(cond, Number.POSITIVE_INFINITY, true, 'wait_event_interruptible');
        return r < 0 ? r : 0;
      },
    );
  }

  /** `wait_event_interruptible_timeout`: `-ERESTARTSYS`, 0 on timeout, or remaining jiffies (at least 1). */
  waitEventInterruptibleTimeout(cond: () => boolean, timeoutJiffies: number): Promise<number> {
    timeoutJiffies = signedTimeout(this.kernel, 'waitEventInterruptibleTimeout(cond, timeoutJiffies)', 'timeoutJiffies', timeoutJiffies);
    return this.kernel.sleeping(
      'wait_event_interruptible_timeout',
      () => (this.now(cond) ? Math.max(1, timeoutJiffies) : WOULD_SLEEP),
      () => this.wait(cond, timeoutJiffies, true, 'wait_event_interruptible_timeout'),
      () => 0,
    );
  }

  /** The condition checked without sleeping (true: the wakers' history is seen). */
  private now(cond: () => boolean): boolean {
    const ok = cond();
    if (ok) this.kernel.hb?.acquire(this.kernel.current, this);
    return ok;
  }

  /** `wake_up`: wake the first waiter (all waiters here are non-exclusive, so all of them, as the kernel does). */
  wakeUp(): void {
    this.wakeUpAll();
  }

  /** `wake_up_all`. Callable from any context. */
  wakeUpAll(): void {
    const k = this.kernel;
    k.touch(this);
    k.hb?.release(k.currentOrNull, this);
    for (const t of this.waiters) k.wake(t);
  }

  /** `wake_up_interruptible`: wakes only threads in interruptible waits. */
  wakeUpInterruptible(): void {
    const k = this.kernel;
    k.touch(this);
    k.hb?.release(k.currentOrNull, this);
    for (const t of this.waiters) if (t.interruptible) k.wake(t);
  }

  /** `waitqueue_active`. */
  active(): boolean {
    return this.waiters.length > 0;
  }

  private async wait(
    cond: () => boolean,
    timeoutJiffies: number,
    interruptible: boolean,
    op: string,
  ): Promise<number> {
    const k = this.kernel;
    const t = k.current;
    k.mightSleep(op);
    await k.schedulePoint(op, this);
    if (cond()) {
      k.hb?.acquire(t, this);
      return timeoutJiffies === Number.POSITIVE_INFINITY ? 1 : Math.max(1, timeoutJiffies);
    }
    const deadlineNs = k.nowNs + k.jiffiesToNs(timeoutJiffies);
    this.waiters.push(t);
    try {
      for (;;) {
        if (interruptible && t.signalPending) return -Errno.ERESTARTSYS;
        const leftNs = deadlineNs - k.nowNs;
        if (leftNs <= 0) return this.seen(t, cond()) ? 1 : 0;
        const why = await k.block(t, this, op, { timeoutNs: leftNs, interruptible });
        if (this.seen(t, cond())) return this.remaining(deadlineNs);
        if (why === 'signal') return -Errno.ERESTARTSYS;
        if (why === 'timeout') return 0;
      }
    } finally {
      this.waiters.splice(this.waiters.indexOf(t), 1);
    }
  }

  /** A wait that saw its condition true returns with the wakers' history. */
  private seen(t: Thread, ok: boolean): boolean {
    if (ok) this.kernel.hb?.acquire(t, this);
    return ok;
  }

  private remaining(deadlineNs: number): number {
    if (deadlineNs === Number.POSITIVE_INFINITY) return 1;
    const k = this.kernel;
    const leftNs = deadlineNs - k.nowNs;
    return Math.max(1, Math.ceil((leftNs * k.hz) / 1e9));
  }
}

/**
 * `struct completion`: a counted event. `complete` releases one waiter (or
 * banks one), `completeAll` releases everyone for good.
 *
 * @kernel kernel/sched/completion.c
 */
export class Completion {
  /** `done`: banked completions; `Infinity` after `completeAll`. */
  done = 0;
  private readonly wq: WaitQueueHead;

  constructor(
    readonly kernel: Kernel,
    readonly name = 'completion',
    wakers?: () => readonly Thread[],
  ) {
    this.wq = new WaitQueueHead(kernel, name, wakers);
  }

  /** `complete`. Any context. */
  complete(): void {
    if (this.done !== Number.POSITIVE_INFINITY) this.done++;
    this.kernel.hb?.release(this.kernel.currentOrNull, this);
    this.wq.wakeUpAll();
  }

  /** `complete_all`. Any context. */
  completeAll(): void {
    this.done = Number.POSITIVE_INFINITY;
    this.kernel.hb?.release(this.kernel.currentOrNull, this);
    this.wq.wakeUpAll();
  }

  /** `reinit_completion`. */
  reinit(): void {
    this.kernel.touch(this.wq);
    this.done = 0;
  }

  /** `completion_done`: true if a wait would not block. */
  completionDone(): boolean {
    this.kernel.touch(this.wq);
    if (this.done === 0) return false;
    this.seen();
    return true;
  }

  /** `try_wait_for_completion`: consume one completion without sleeping. */
  tryWaitForCompletion(): boolean {
    this.kernel.touch(this.wq);
    if (this.done === 0) return false;
    if (this.done !== Number.POSITIVE_INFINITY) this.done--;
    this.seen();
    return true;
  }

  /** The caller saw the completion done: it sees the completers' history. */
  private seen(): void {
    const hb = this.kernel.hb;
    if (hb !== null) hb.acquire(this.kernel.currentOrNull, this);
  }

  /**
   * `wait_for_completion`. Where the caller cannot sleep (`Kernel.sleeping`)
   * a done completion is consumed at once and a pending one kills the
   * context; the timeout variants then end at once as timed out.
   */
  waitForCompletion(): Promise<void> {
    return this.kernel.sleeping(
      'wait_for_completion',
      () => (this.tryWaitForCompletion() ? undefined : WOULD_SLEEP),
      async () => {
        await this.wq.waitEvent(() => this.done > 0);
        this.tryWaitForCompletion();
      },
    );
  }

  /** `wait_for_completion_timeout`: 0 on timeout, else remaining jiffies (at least 1). */
  waitForCompletionTimeout(timeoutJiffies: number): Promise<number> {
    jiffiesArg('waitForCompletionTimeout(timeoutJiffies)', 'timeoutJiffies', timeoutJiffies);
    return this.kernel.sleeping(
      'wait_for_completion_timeout',
      () => (this.tryWaitForCompletion() ? Math.max(1, timeoutJiffies) : WOULD_SLEEP),
      async () => {
        const r = await this.wq.waitEventTimeout(() => this.done > 0, timeoutJiffies);
        if (r > 0) this.tryWaitForCompletion();
        return r;
      },
      () => 0,
    );
  }

  /** `wait_for_completion_interruptible`: 0 or `-ERESTARTSYS`. */
  waitForCompletionInterruptible(): Promise<number> {
    return this.kernel.sleeping(
      'wait_for_completion_interruptible',
      () => (this.tryWaitForCompletion() ? 0 : WOULD_SLEEP),
      async () => {
        const r = await this.wq.waitEventInterruptible(() => this.done > 0);
        if (r === 0) this.tryWaitForCompletion();
        return r;
      },
    );
  }

  /** `wait_for_completion_interruptible_timeout`: `-ERESTARTSYS`, 0 on timeout, or remaining jiffies. */
  waitForCompletionInterruptibleTimeout(timeoutJiffies: number): Promise<number> {
    jiffiesArg('waitForCompletionInterruptibleTimeout(timeoutJiffies)', 'timeoutJiffies', timeoutJiffies);
    return this.kernel.sleeping(
      'wait_for_completion_interruptible_timeout',
      () => (this.tryWaitForCompletion() ? Math.max(1, timeoutJiffies) : WOULD_SLEEP),
      async () => {
        const r = await this.wq.waitEventInterruptibleTimeout(() => this.done > 0, timeoutJiffies);
        if (r > 0) this.tryWaitForCompletion();
        return r;
      },
      () => 0,
    );
  }
}
