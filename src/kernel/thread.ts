import { LdWait } from './lockdep-map.ts';
import type { HeldLock, LdWaitType, LockdepMap } from './lockdep-map.ts';
import type { TimerEntry } from './timer-heap.ts';
import type { ChoiceOption } from './chooser.ts';
import type { Backtrace } from './stack.ts';

/** Execution context of a thread: process, softirq (timers, tasklets) or hardirq. */
export type ContextKind = 'process' | 'softirq' | 'hardirq';

/** Where a thread is in its life. */
export type ThreadState = 'new' | 'runnable' | 'running' | 'blocked' | 'exited';

/** Why a blocked thread came back. */
export type WakeReason = 'woken' | 'timeout' | 'signal';

/**
 * What a blocked thread waits on, for deadlock reports and the wait-for graph.
 * `owners` names the threads that must act before the waiter can go on
 * (a mutex holder, a fence's known signaller); empty when unknown.
 */
export interface Blocker {
  describe(): string;
  owners(): readonly Thread[];
  /** The lock being waited for, when the blocker is a lock (so reports do not list it as held). */
  readonly lockMap?: LockdepMap;
  /**
   * Details for reports of a wait that never ends (deadlock, run limit):
   * one line per thing waited on, e.g. each fence with who was expected to
   * signal it and the last thing that happened to it.
   */
  detail?(): readonly string[];
}

/**
 * Watches what each scheduling step touches, for the explorer's
 * partial-order reduction (`Kernel.observeSteps`). `resumed` is called when
 * a thread is handed the CPU (its `parkObject` says what its step is about);
 * `touch` for every lock map, wait queue, blocker or thread the step acts on.
 */
export interface StepObserver {
  resumed(t: Thread): void;
  touch(o: object): void;
}

/**
 * Watches a run from outside (a CLI's wall-clock watchdog, which must name
 * the thread a stuck run was in): told of each thread as it is created and
 * of each switch. `Kernel.watch`; null on ordinary runs, so it costs one
 * branch per switch.
 */
export interface RunWatch {
  spawned(tid: number, name: string): void;
  switched(tid: number, step: number, timeNs: number): void;
}

/**
 * The kernel a thread runs on: the `Kernel` class. kernel.ts completes this
 * interface by declaration merging (`interface ThreadKernel extends Kernel`),
 * so `thread.kernel` has every member of `Kernel` while this file, which the
 * kernel builds on, does not import kernel.ts (the kernel creates threads;
 * a thread only carries a reference back).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by kernel.ts (see above)
export interface ThreadKernel {}

/** Thread body: receives its own thread; may return an exit code. */
export type ThreadFn = (self: Thread) => Promise<number | void> | number | void;

/**
 * A simulated task: a kthread, a workqueue worker, or an IRQ / softirq /
 * timer-callback context. Exactly one runs at a time.
 *
 * @kernel struct task_struct (the parts the model needs)
 */
export class Thread implements ChoiceOption {
  state: ThreadState = 'new';
  /** Exit code once exited (`kthread_stop` returns it). */
  exitCode: number | undefined;
  /** `preempt_count()`: spinlocks, preempt_disable, IRQ contexts raise it. */
  preemptCount = 0;
  /** `local_irq_disable` / `spin_lock_irqsave` nesting depth. */
  irqsDisabled = 0;
  /** `local_bh_disable` / `spin_lock_bh` nesting depth. */
  bhDisabled = 0;
  /** `rcu_read_lock` nesting depth. */
  rcuReadDepth = 0;
  /** `memalloc_nofs_save` / `memalloc_noio_save` scope flags (GFP bits removed). */
  gfpScopeMask = 0;
  /** `PF_MEMALLOC`: the task is itself reclaiming. */
  inReclaim = false;
  /** `held_locks`: the lockdep held-lock stack. */
  readonly held: HeldLock[] = [];
  /** `kthread_should_stop()`. */
  shouldStop = false;
  /** A signal is pending (interruptible waits return -ERESTARTSYS / -EINTR). */
  signalPending = false;
  /**
   * The task takes signals: a user process's thread (`UserProcess.spawn`),
   * or a kthread after `Kernel.allowSignal` (kthreads ignore signals
   * otherwise). The explorer delivers signals (`--faults signal`) only to
   * such threads, at their interruptible waits. `Kernel.sendSignal` is the
   * scenario's own act and reaches any thread.
   */
  signalsAllowed = false;
  /** What the thread waits on while blocked. */
  blocker: Blocker | null = null;
  /** Label of the kernel operation the thread last entered (scheduling decisions name it). */
  op = 'start';
  /** Backtrace of the thread's last blocking wait, when the kernel captures stacks (deadlock reports). */
  blockStack: Backtrace | null = null;
  /** Scheduling points this thread has passed. */
  points = 0;
  /**
   * What the operation the thread is parked in acts on once resumed (see
   * `Kernel.schedulePoint`): an object, `null` for nothing (a yield, the
   * thread's start), `undefined` when unknown.
   */
  parkObject: object | null | undefined = null;
  /** Slot for the lockdep validator's per-task state. */
  lockdepState: unknown = null;
  /** Slot for the happens-before checker's per-task state (its vector clock). */
  hbState: unknown = null;
  /**
   * Depth of synchronous callbacks the kernel is running in this task (fence
   * callbacks, IRQ handlers, irq_work, hrtimers, timer and RCU callbacks):
   * code there cannot be suspended, so a sleeping operation called there
   * must not wait (see `Kernel.mightSleep`).
   */
  syncDepth = 0;
  /**
   * lockdep `hardirq_threaded` / `irq_config`: this hardirq context would be
   * a thread on PREEMPT_RT (a device IRQ handler, a non-hard irq_work), so it
   * may take `spinlock_t`. False for hard hrtimers, `IRQF_NO_THREAD` /
   * `IRQF_ONESHOT` primary handlers and hard irq_work (raw spinlocks only).
   */
  hardirqThreaded = false;
  private localMap: Map<string, unknown> | null = null;

  /** Slot for higher layers' per-task state (e.g. the fence signalling cookie depth); created on first use. */
  get local(): Map<string, unknown> {
    return (this.localMap ??= new Map<string, unknown>());
  }

  /** @internal resolves the thread's pending scheduling point. */
  resume: ((reason: WakeReason) => void) | null = null;
  /** @internal reason passed to the thread when it is next resumed. */
  wakeReason: WakeReason = 'woken';
  /** @internal pending timeout of the current wait. */
  timeout: TimerEntry | null = null;
  /** @internal incremented on each block, so stale timeouts and wakes are ignored. */
  waitSeq = 0;
  /** @internal interruptible waits can be broken by a signal. */
  interruptible = false;
  /** @internal threads waiting in kthread_stop / exit. */
  exitWaiters: Thread[] = [];
  /** @internal run-queue index while runnable, -1 otherwise. */
  rqIndex = -1;
  /** @internal last step at which a might_sleep splat was reported for this thread. */
  mightSleepStep = -1;

  constructor(
    readonly kernel: ThreadKernel,
    readonly id: number,
    /** Unique label, used in schedules, traces and reports. */
    readonly name: string,
    readonly context: ContextKind,
    readonly fn: ThreadFn,
    /**
     * Service threads (workers, RCU) may stay blocked at the end of a run
     * without it being a deadlock. Workqueue workers and IRQ threads clear it
     * while they run a work item or thread handler, so a hang there is one.
     */
    public daemon: boolean,
    readonly parent: Thread | null,
  ) {}

  get label(): string {
    return this.name;
  }

  /** `in_atomic()` or IRQs off or RCU read side: where sleeping is a bug. */
  get atomic(): boolean {
    return (
      this.preemptCount > 0 ||
      this.irqsDisabled > 0 ||
      this.rcuReadDepth > 0 ||
      this.context !== 'process'
    );
  }

  /**
   * The wait type this context allows (lockdep's `curr_inner` before any
   * lock is held): process SLEEP; softirq and threadable hardirq CONFIG;
   * non-threaded hardirq (hard hrtimer, hard irq_work) SPIN.
   *
   * @kernel check_wait_context (kernel/locking/lockdep.c)
   */
  get waitCtx(): LdWaitType {
    if (this.context === 'process') return LdWait.SLEEP;
    if (this.context === 'softirq' || this.hardirqThreaded) return LdWait.CONFIG;
    return LdWait.SPIN;
  }

  /** `in_irq()` / `in_hardirq()`. */
  get inHardirq(): boolean {
    return this.context === 'hardirq';
  }

  /** `in_softirq()` (serving a softirq). */
  get inSoftirq(): boolean {
    return this.context === 'softirq';
  }

  /** Hard IRQs enabled for this task right now. */
  get hardirqsEnabled(): boolean {
    return this.context === 'process' || this.context === 'softirq'
      ? this.irqsDisabled === 0
      : false;
  }

  /** Soft IRQs enabled for this task right now. */
  get softirqsEnabled(): boolean {
    return this.context === 'process' && this.bhDisabled === 0 && this.irqsDisabled === 0;
  }

  toString(): string {
    return this.name;
  }
}
