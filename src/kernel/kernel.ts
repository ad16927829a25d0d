import { injectLabel, optionLabel, PrngChooser, ScheduleDivergence } from './chooser.ts';
import type { ChoiceKind, ChoiceOption, Chooser } from './chooser.ts';
import { EventStream } from './events.ts';
import type { KernelEvent, KernelEventMap, KernelEventType } from './events.ts';
import { hostMacrotask } from './host.ts';
import { cachedCallerSite, callerSite } from './lockdep-map.ts';
import { captureStack, foldStack, parseStack, siteOfStack } from './stack.ts';
import type { FoldedFrame, ReportStack } from './stack.ts';
import type { CreationSiteMemo, HeldLock, LockdepMap, LockRead } from './lockdep-map.ts';
import type { LockValidator } from './lock-validator.ts';
import type { HbChecker } from './hb.ts';
import type { Splat, SplatInput, SplatStackInput } from './splat.ts';
import { RecordedSchedule } from './schedule-record.ts';
import { TimerHeap } from './timer-heap.ts';
import {
  atomicState,
  deadlockSplat,
  describeHeld,
  limitSplat,
  schedulingWhileAtomicSplat,
  unlockImbalanceSplat,
} from './kernel-reports.ts';
import type { TimerEntry } from './timer-heap.ts';
import { Thread } from './thread.ts';
import type { Blocker, ContextKind, RunWatch, StepObserver, ThreadFn, WakeReason } from './thread.ts';
import { guardEnter, guardLeave, hostCallFix } from './host-guard.ts';
import type { HostCall, HostGuarded } from './host-guard.ts';

import { DEFAULT_LIMITS, KernelMisuse, limitProblems, ThreadKilled } from './run-types.ts';
import type { KernelLimits, KernelOptions, RunEnd, RunFailure, RunResult } from './run-types.ts';

declare module './thread.ts' {
  /** A thread's `kernel` is the whole `Kernel` (thread.ts declares the slot without importing this file). */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds Kernel's members
  interface ThreadKernel extends Kernel {}
}

export {
  DEFAULT_LIMITS,
  describeValue,
  KernelMisuse,
  LIMIT_BOUNDS,
  limitProblems,
  MAX_TIME_MS_BOUND,
  ThreadKilled,
} from './run-types.ts';
export type { KernelLimits, KernelOptions, RunEnd, RunFailure, RunResult } from './run-types.ts';

/**
 * What a sleeping operation's non-sleeping attempt (`Kernel.sleeping`)
 * returns when it would have to wait.
 */
export const WOULD_SLEEP: unique symbol = Symbol('would sleep');
export type WouldSleep = typeof WOULD_SLEEP;
/** Folded frames compared without library-run lengths (two captures of one call differ only there). */
function foldKey(frames: readonly FoldedFrame[]): string {
  return frames
    .map((f) => (f.kind === 'user' ? `${f.file}:${f.line}:${f.col}` : `[${f.inner.file}:${f.inner.line}|${f.outer.file}:${f.outer.line}]`))
    .join(' ');
}

/** Where a thread's uncaught throw came from (its own stack): a scenario error, not a divergence. */
function throwSite(kind: RunFailure['kind'], error: unknown): FoldedFrame[] | null {
  if (kind !== 'thread-exception' && kind !== 'misuse') return null;
  if (!(error instanceof Error) || typeof error.stack !== 'string') return null;
  const frames = foldStack(parseStack(error.stack));
  return frames.length ? frames : null;
}

/** Options a `choice` event lists (the rest are counted in `more`). */
const CHOICE_LISTED = 16;

/** Scheduling steps between deliberate hand-offs to the host event loop. */
const HOST_YIELD_STEPS = 4096;

const RESOLVED = Promise.resolve();

/**
 * The simulated kernel: threads and contexts, the scheduler and its chooser,
 * virtual time and timers, the event stream, splats. Exactly one thread runs
 * at a time; every awaited kernel operation is a scheduling point.
 *
 * Runs are deterministic: (scenario, options, schedule) determine every event.
 *
 * @kernel none: the simulated machine the modelled code runs on (its scheduler, clock, timers and IRQ delivery stand in for the kernel core's)
 */
export class Kernel implements HostGuarded {
  readonly events = new EventStream();
  readonly limits: KernelLimits;
  readonly seed: number;
  readonly hz: number;
  readonly captureStacks: boolean;
  readonly validator: LockValidator | null;
  /**
   * The happens-before / lifetime checker (race detector and KASAN from the
   * checker layer), or null. Primitives call it at their sync points; see
   * `hb.ts` for the contract.
   */
  readonly hb: HbChecker | null;
  readonly splats: Splat[] = [];

  private readonly chooser: Chooser;
  private readonly recordAll: boolean;
  private readonly recorded: RecordedSchedule;
  private readonly threads: Thread[] = [];
  private readonly names = new Map<string, number>();
  private readonly rq: Thread[] = [];
  private readonly timers = new TimerHeap();
  private readonly endChecks: (() => void)[] = [];
  private readonly exits = new Map<string, number>();
  private readonly injectSites = new Map<string, number>();
  private nowNsValue = 0;
  private stepCount = 0;
  private timerSeq = 0;
  private running: Thread | null = null;
  private handoff = false;
  private phase: 'setup' | 'running' | 'ended' = 'setup';
  private hostWaiting: Thread | null = null;
  private segment = 0;
  private cancelHost: (() => void) | null = null;
  private last: Thread | null = null;
  /**
   * Observer of what each step touches, for the explorer's partial-order
   * reduction; null on ordinary runs, so the hooks cost one branch.
   */
  private observer: StepObserver | null = null;
  private siteMemo: CreationSiteMemo | null = null;
  private finish: ((r: RunResult) => void) | null = null;
  private endReason: RunEnd = 'completed';
  private failure: RunFailure | null = null;
  private savedTraceLimit: number | null = null;
  /** Nesting of `runSetup` calls in progress. */
  private setupDepth = 0;
  private watcher: RunWatch | null = null;
  private readonly clearHandoff = (): void => {
    this.handoff = false;
  };

  constructor(options: KernelOptions = {}) {
    this.seed = options.seed ?? 1;
    this.hz = options.hz ?? 1000;
    const bad = limitProblems(options.limits, 'limits.');
    if (bad.length > 0) throw new KernelMisuse(`new Kernel(): ${bad.join('; ')}.`);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.chooser = options.chooser ?? new PrngChooser(this.seed, options.faults);
    this.validator = options.validator ?? null;
    this.hb = options.hb ?? null;
    this.captureStacks = options.captureStacks ?? false;
    this.recordAll = options.recordAll ?? false;
    this.recorded = new RecordedSchedule(this.seed);
  }

  // ---------------------------------------------------------------- time

  /** Virtual time in ns (`ktime_get_ns`). */
  get nowNs(): number {
    return this.nowNsValue;
  }

  /** `jiffies`, derived from virtual time. */
  get jiffies(): number {
    return Math.floor((this.nowNsValue * this.hz) / 1e9);
  }

  /** Scheduling steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** Converts jiffies to ns. */
  jiffiesToNs(j: number): number {
    return j === Number.POSITIVE_INFINITY ? j : Math.round((j * 1e9) / this.hz);
  }

  /** `msecs_to_jiffies`: rounds up, as the kernel does. */
  msecsToJiffies(ms: number): number {
    return Math.ceil((ms * this.hz) / 1000);
  }

  // ------------------------------------------------------------- threads

  /**
   * The running thread (`current`). Throws when called outside a simulated
   * thread, or by code that did not await its previous kernel operation.
   */
  get current(): Thread {
    const t = this.running;
    if (t === null || this.handoff || this.phase !== 'running') return this.misuseOutsideThread();
    return t;
  }

  /** The running thread, or null outside the simulation; never throws. */
  get currentOrNull(): Thread | null {
    return this.handoff || this.phase !== 'running' ? null : this.running;
  }

  private misuseOutsideThread(): never {
    if (this.handoff) {
      throw new Error(
        'a kernel operation was called while another thread was being resumed: ' +
          `thread "${this.running?.name ?? '?'}" was handed the CPU, so the caller did not await its previous kernel operation. ` +
          'Add `await` in front of every kernel operation that returns a promise.',
      );
    }
    throw new Error(
      'kernel operation called outside a simulated thread. Start the code with ' +
        '`kernel.kthreadRun(name, async () => { ... })` and then `await kernel.run()`.',
    );
  }

  /**
   * `kthread_run`: create a process-context thread and make it runnable.
   * Callable before `run()` or from any simulated context.
   */
  kthreadRun(name: string, fn: ThreadFn, opts: { daemon?: boolean } = {}): Thread {
    return this.spawn(name, fn, 'process', opts.daemon ?? false);
  }

  /**
   * Start a softirq or hardirq context running `fn` (timer callbacks, IRQ
   * handlers). It is a schedulable entity like a thread, but atomic.
   */
  spawnContext(kind: Exclude<ContextKind, 'process'>, name: string, fn: ThreadFn): Thread {
    return this.spawn(name, fn, kind, false);
  }

  private spawn(name: string, fn: ThreadFn, context: ContextKind, daemon: boolean): Thread {
    if (this.phase === 'ended') throw new Error(`cannot spawn "${name}": the run has ended`);
    const parent = this.currentOrNull;
    const t = new Thread(
      this,
      this.threads.length + 1,
      this.uniqueName(name),
      context,
      fn,
      daemon,
      parent,
    );
    if (context !== 'process') t.preemptCount = context === 'hardirq' ? 0x10000 : 0x100;
    this.threads.push(t);
    this.watcher?.spawned(t.id, t.name);
    this.hb?.fork(parent, t);
    // The body starts from a microtask, after the hand-off window closes,
    // exactly like a resumed thread.
    void new Promise<WakeReason>((res) => {
      t.resume = res;
    }).then(() => this.runBody(t));
    this.makeRunnable(t);
    if (this.events.active) {
      this.emit('thread-spawn', { thread: t.name, context, parent: parent?.name ?? null });
    }
    return t;
  }

  private uniqueName(base: string): string {
    const n = this.names.get(base);
    if (n === undefined) {
      this.names.set(base, 1);
      return base;
    }
    let k = n + 1;
    while (this.names.has(`${base}#${k}`)) k++;
    this.names.set(base, k);
    this.names.set(`${base}#${k}`, 1);
    return `${base}#${k}`;
  }

  /**
   * The thread that ran last: at a scheduling decision, the one that just
   * parked, blocked or exited. A strategy compares it with the options to
   * tell a preemption (it is still runnable and another is picked) from a
   * free switch.
   */
  get lastThread(): Thread | null {
    return this.last;
  }

  /**
   * Install an observer of the objects each step touches (lock maps, wait
   * queues, blockers, threads); at most one. Used by the explorer's sleep
   * sets; ordinary runs have none.
   */
  observeSteps(observer: StepObserver | null): void {
    this.observer = observer;
  }

  /**
   * Share `memo` (the creation sites of setup's keyless locks) with the
   * other runs of an exploration, so that only the first run walks stacks
   * for them. Call before `setup`.
   */
  useSiteMemo(memo: CreationSiteMemo | null): void {
    this.siteMemo = memo;
    memo?.reset();
  }

  /**
   * The lockdep class key of a lock created without one: the source
   * location of the code that called the lock's constructor (the kernel's
   * static key per init call site). Call it from the constructor itself.
   * In an exploration, locks created by `setup` are looked up in the
   * shared `CreationSiteMemo` instead of walking the stack each run.
   */
  creationSite(name: string | undefined): string {
    const memo = this.siteMemo;
    if (memo !== null && this.phase === 'setup') {
      const hit = memo.lookup(name);
      if (hit !== undefined) return hit;
      const site = cachedCallerSite(2);
      memo.record(name, site);
      return site;
    }
    return cachedCallerSite(2);
  }

  /** Report that the current step touched `o` (for the step observer); no-op without one. */
  touch(o: object): void {
    if (this.observer !== null) this.observer.touch(o);
  }

  /** All threads created in this run, in creation order. */
  get allThreads(): readonly Thread[] {
    return this.threads;
  }

  private async runBody(t: Thread): Promise<void> {
    let code: number;
    try {
      // The synchronous part of an IRQ, softirq or timer context cannot be suspended.
      const sync = t.context !== 'process';
      if (sync) t.syncDepth++;
      let r: ReturnType<ThreadFn>;
      try {
        r = t.fn(t);
      } finally {
        if (sync) t.syncDepth--;
      }
      const v = r instanceof Promise ? await r : r;
      code = typeof v === 'number' ? v : 0;
    } catch (e) {
      if (e instanceof ThreadKilled) {
        code = e.code;
      } else {
        this.fail(
          e instanceof ScheduleDivergence
            ? 'replay-divergence'
            : e instanceof KernelMisuse
              ? 'misuse'
              : 'thread-exception',
          e instanceof KernelMisuse
            ? `thread "${t.name}": ${e.message}`
            : `thread "${t.name}" threw: ${e instanceof Error ? e.message : String(e)}`,
          t,
          e,
        );
        return;
      }
    }
    // The body returned while one of its kernel operations is still parked
    // (called without `await`): another thread already owns the CPU.
    if (t.state !== 'running' || this.running !== t || this.handoff) {
      this.fail(
        'misuse',
        `thread "${t.name}" returned while its kernel operation "${t.op}" was still pending: ` +
          'add `await` in front of every kernel operation that returns a promise.',
        t,
      );
      return;
    }
    this.guarded(() => {
      this.exitThread(t, code);
    });
  }

  /**
   * Run scheduler work outside any thread body (the first dispatch, a
   * thread's exit). A chooser that throws there (a replayed schedule that
   * no longer fits) fails the run instead of rejecting `run()`.
   */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (e) {
      this.fail(
        e instanceof ScheduleDivergence ? 'replay-divergence' : 'misuse',
        e instanceof Error ? e.message : String(e),
        null,
        e,
      );
    }
  }

  private exitThread(t: Thread, code: number): void {
    if (this.phase !== 'running') return;
    if (t.held.length > 0) {
      this.validator?.leaked?.(t, 'exit');
      this.splat({
        rule: 'lockdep.exit_with_locks',
        severity: 'lockdep',
        headline: `BUG: ${t.name} exited with locks held!`,
        body: `${t.held.length} lock${t.held.length > 1 ? 's' : ''} held by ${t.name}:\n${this.describeHeld(t)}`,
        thread: t,
      });
    }
    t.state = 'exited';
    t.exitCode = code;
    this.hb?.release(t, t);
    this.last = t;
    this.exits.set(t.name, code);
    if (this.events.active) this.emit('thread-exit', { thread: t.name, code });
    for (const w of t.exitWaiters) this.wake(w);
    t.exitWaiters.length = 0;
    this.running = null;
    this.dispatch();
  }

  /** `kthread_should_stop()` for the current thread. */
  kthreadShouldStop(): boolean {
    const t = this.current;
    if (this.observer !== null) this.observer.touch(t);
    return t.shouldStop;
  }

  /**
   * `kthread_stop`: ask `t` to stop, wake it, and wait for it to exit.
   * Returns its exit code. Process context; sleeps.
   */
  async kthreadStop(t: Thread): Promise<number> {
    const self = this.current;
    this.mightSleep('kthread_stop');
    if (this.observer !== null) this.observer.touch(t);
    t.shouldStop = true;
    this.wake(t);
    while (t.state !== 'exited') {
      t.exitWaiters.push(self);
      await this.block(
        self,
        { describe: () => `exit of ${t.name}`, owners: () => [t] },
        'kthread_stop',
      );
    }
    this.hb?.acquire(self, t);
    return t.exitCode ?? 0;
  }

  /**
   * Deliver a signal to `t` (`send_sig`): interruptible waits end with
   * `-ERESTARTSYS` / `-EINTR`. The flag stays set until `flushSignals`.
   */
  sendSignal(t: Thread): void {
    if (this.observer !== null) this.observer.touch(t);
    t.signalPending = true;
    if (this.events.active) this.emit('signal', { thread: t.name });
    if (t.state === 'blocked' && t.interruptible) this.wakeWith(t, 'signal');
  }

  /** `flush_signals`: clear the current thread's pending signal. */
  flushSignals(): void {
    this.current.signalPending = false;
  }

  /**
   * `allow_signal`: the current kthread takes signals from now on (kthreads
   * ignore them otherwise), so an exploration with `--faults signal` may
   * interrupt its interruptible waits. Threads of a `UserProcess` take
   * signals from the start. The model has one kind of signal, so no number.
   */
  allowSignal(): void {
    this.current.signalsAllowed = true;
  }

  /** `disallow_signal`: the current kthread ignores signals again (see `allowSignal`). */
  disallowSignal(): void {
    this.current.signalsAllowed = false;
  }

  // ----------------------------------------------------------- scheduling

  /**
   * A scheduling point at which the current thread stays runnable
   * (`cond_resched`, and the preemption point every kernel operation has).
   * `about` is the object the operation acts on once resumed (the lock map
   * it takes, the wait queue whose condition it checks), `null` for a pure
   * yield that acts on nothing, or left out when unknown. The explorer's
   * partial-order reduction treats two threads' next steps as independent
   * only when it knows what both are about.
   */
  schedulePoint(op: string, about?: object | null): Promise<WakeReason> {
    const t = this.current;
    t.parkObject = about;
    this.makeRunnable(t);
    return this.park(t, op);
  }

  /**
   * Block the current thread on `blocker` until `wake` (or the timeout, or a
   * signal when interruptible). Returns why it came back. Callers re-check
   * their condition: wake-ups may be spurious, as in the kernel.
   */
  block(
    t: Thread,
    blocker: Blocker,
    op: string,
    opts?: { timeoutNs?: number; interruptible?: boolean },
  ): Promise<WakeReason> {
    if (opts?.interruptible) {
      if (t.signalPending) return Promise.resolve('signal');
      // A signal may arrive during any interruptible sleep of a task that
      // takes signals: the chooser decides (`--faults signal`), by thread and
      // operation, so a schedule names it and a replay delivers it again.
      if (t.signalsAllowed && this.inject('signal', `${t.name}:${op}`)) return this.signalInSleep(t, blocker, op);
    }
    t.state = 'blocked';
    t.blocker = blocker;
    t.parkObject = blocker.lockMap ?? blocker;
    if (this.observer !== null) this.observer.touch(t.parkObject);
    t.interruptible = opts?.interruptible ?? false;
    if (this.captureStacks) t.blockStack = captureStack();
    const seq = ++t.waitSeq;
    const timeoutNs = opts?.timeoutNs ?? Number.POSITIVE_INFINITY;
    if (timeoutNs !== Number.POSITIVE_INFINITY) {
      t.timeout = this.addTimer(
        this.nowNsValue + Math.max(0, timeoutNs),
        `timeout:${t.name}`,
        () => {
          t.timeout = null;
          if (t.state === 'blocked' && t.waitSeq === seq) this.wakeWith(t, 'timeout');
        },
      );
    }
    if (this.events.active) this.emit('block', { thread: t.name, op, on: blocker.describe() });
    return this.park(t, op);
  }

  /**
   * An injected signal arrives while `t` sleeps in the interruptible wait
   * `op` on `blocker` (`signal_wake_up`): the sleep ends with `signal`
   * before any wake-up, and `t` is runnable again. When it runs is the
   * scheduler's decision, so other threads may run first, as they could
   * while it slept; a signal arriving later in the same sleep unwinds the
   * same way. The events are those of a sleep broken by `sendSignal`.
   */
  private signalInSleep(t: Thread, blocker: Blocker, op: string): Promise<WakeReason> {
    t.signalPending = true;
    t.parkObject = blocker.lockMap ?? blocker;
    if (this.observer !== null) this.observer.touch(t.parkObject);
    if (this.events.active) {
      this.emit('block', { thread: t.name, op, on: blocker.describe() });
      this.emit('signal', { thread: t.name });
      this.emit('wake', { thread: t.name, reason: 'signal' });
    }
    t.wakeReason = 'signal';
    this.makeRunnable(t);
    return this.park(t, op);
  }

  /** Wake a blocked thread (`wake_up_process`). Safe from any context. Returns false if it was not blocked. */
  wake(t: Thread): boolean {
    return this.wakeWith(t, 'woken');
  }

  private wakeWith(t: Thread, reason: WakeReason): boolean {
    if (t.state !== 'blocked') return false;
    this.hb?.wake(this.running, t);
    if (this.observer !== null && t.blocker !== null) this.observer.touch(t.blocker.lockMap ?? t.blocker);
    t.blocker = null;
    t.waitSeq++;
    t.wakeReason = reason;
    if (t.timeout) {
      this.cancelTimer(t.timeout);
      t.timeout = null;
    }
    this.makeRunnable(t);
    if (this.events.active) this.emit('wake', { thread: t.name, reason });
    return true;
  }

  private makeRunnable(t: Thread): void {
    if (t.rqIndex >= 0) return;
    if (t.state !== 'new') t.state = 'runnable';
    t.rqIndex = this.rq.length;
    this.rq.push(t);
  }

  private park(t: Thread, op: string): Promise<WakeReason> {
    t.op = op;
    t.points++;
    if (t.atomic && t.mightSleepStep !== this.stepCount) this.schedulingWhileAtomic(t, op);
    const p = new Promise<WakeReason>((res) => {
      t.resume = res;
    });
    if (this.running === t) this.running = null;
    this.last = t;
    this.dispatch();
    return p;
  }

  private dispatch(): void {
    for (;;) {
      if (this.phase !== 'running') return;
      if (this.rq.length > 0) {
        if (this.stepCount >= this.limits.maxSteps) {
          this.end('step-limit');
          return;
        }
        this.stepCount++;
        const t = this.pick();
        // The chooser may end the run (an explorer abandoning a redundant schedule).
        if (this.phase !== 'running') return;
        if (this.stepCount % HOST_YIELD_STEPS === 0) {
          this.hostWaiting = t;
          return;
        }
        this.resumeThread(t);
        return;
      }
      if (!this.fireTimers()) {
        this.end(this.hasDeadlock() ? 'deadlock' : 'completed');
        return;
      }
    }
  }

  private pick(): Thread {
    const rq = this.rq;
    let i = 0;
    if (rq.length > 1) {
      i = this.chooser.choose('thread', rq);
      this.recorded.kinds.push(0);
      this.recorded.labels.push(rq[i]!.name);
      if (this.events.active) this.emitChoice('thread', i, rq);
    } else if (this.recordAll) {
      this.recorded.push('thread', rq[0]!.name);
    }
    const t = rq[i]!;
    const last = rq.pop()!;
    if (last !== t) {
      rq[i] = last;
      last.rqIndex = i;
    }
    t.rqIndex = -1;
    return t;
  }

  private resumeThread(t: Thread): void {
    const from = this.running;
    this.running = t;
    t.state = 'running';
    this.handoff = true;
    // A reaction on a settled promise is queued ahead of the resumed
    // thread's continuation, so the window closes just before it runs.
    void RESOLVED.then(this.clearHandoff);
    if (this.events.active) this.emit('switch', { from: from?.name ?? null, to: t.name, op: t.op });
    if (this.observer !== null) this.observer.resumed(t);
    if (this.watcher !== null) this.watcher.switched(t.id, this.stepCount, this.nowNsValue);
    const r = t.resume!;
    t.resume = null;
    const reason = t.wakeReason;
    t.wakeReason = 'woken';
    r(reason);
  }

  /**
   * Ask the chooser for a decision among `options` (at least one). Decisions
   * with more than one option are recorded in the schedule by label (`~n`
   * added when several options share it; see `optionLabel`).
   */
  choose<T extends ChoiceOption>(kind: ChoiceKind, options: readonly T[]): T {
    if (options.length === 0) throw new Error(`choose(${kind}) needs at least one option`);
    if (options.length === 1) return options[0]!;
    const i = this.chooser.choose(kind, options);
    const o = options[i];
    if (o === undefined) throw new Error(`chooser returned ${i} for ${options.length} options`);
    const label = optionLabel(options, i);
    this.recorded.push(kind, label);
    if (this.events.active) this.emitChoice(kind, i, options);
    return o;
  }

  /**
   * Ask the chooser whether to inject a fault of `kind` at `site` (an
   * allocation, a ww_mutex acquisition, a device). Injections are recorded.
   * From a site's second call on, the decision carries the occurrence
   * (`inject:site#n`, counted per kind and site; the first is plain
   * `inject:site`), so that a replay fails the same occurrence even when no
   * other decision separates two calls at one site.
   */
  inject(kind: ChoiceKind, site: string): boolean {
    const key = `${kind}:${site}`;
    const n = (this.injectSites.get(key) ?? 0) + 1;
    this.injectSites.set(key, n);
    if (!this.chooser.inject(kind, site)) return false;
    const label = injectLabel(site, n);
    this.recorded.push(kind, label);
    if (this.events.active) this.emitChoice(kind, 0, [{ label }, { label: 'no fault' }]);
    return true;
  }

  /** The `choice` event of the decision just recorded (schedule views show what else was possible). */
  private emitChoice(kind: ChoiceKind, chosen: number, options: readonly ChoiceOption[]): void {
    // A long run queue is listed in part (the chosen option always), so an event stays small.
    const idx = Array.from({ length: Math.min(options.length, CHOICE_LISTED) }, (_, j) => j);
    if (chosen >= idx.length) idx[idx.length - 1] = chosen;
    const listed = idx.map((j) => options[j]!);
    this.emit('choice', {
      kind,
      decision: this.recorded.labels.length - 1,
      chosen: optionLabel(options, chosen),
      options: idx.map((j) => optionLabel(options, j)),
      more: options.length - idx.length,
      // What each listed thread is waiting at (the operation its scheduling point is in).
      ops: listed.every((o) => o instanceof Thread) ? listed.map((t) => t.op) : null,
    });
  }


  // ---------------------------------------------------------------- timers

  /**
   * Queue `fire` to run when virtual time reaches `expiresNs`. Returns the
   * entry; `cancelTimer` removes it. `fire` runs synchronously in the
   * scheduler: it may wake threads or start contexts, nothing more.
   */
  addTimer(expiresNs: number, label: string, fire: () => void): TimerEntry {
    const e: TimerEntry = {
      expiresNs,
      seq: this.timerSeq++,
      label,
      fire,
      cancelled: false,
      index: -1,
      hb: null,
    };
    this.hb?.timerArmed(e, this.running);
    this.timers.push(e);
    return e;
  }

  /** Remove a queued timer; returns true if it was pending. */
  cancelTimer(e: TimerEntry): boolean {
    const pending = e.index >= 0;
    e.cancelled = true;
    this.timers.remove(e);
    return pending;
  }

  /** True while `e` is queued. */
  timerPending(e: TimerEntry): boolean {
    return e.index >= 0;
  }

  /**
   * Advance virtual time to the earliest timer and fire every timer due at
   * that instant, in an order the chooser picks. Returns false when no timer
   * is pending (or the time limit stops the run).
   */
  private fireTimers(): boolean {
    const first = this.timers.peek();
    if (!first) return false;
    if (first.expiresNs > this.limits.maxVirtualTimeNs) {
      this.end('time-limit');
      return false;
    }
    if (first.expiresNs > this.nowNsValue) {
      if (this.events.active)
        this.emit('time-advance', { fromNs: this.nowNsValue, toNs: first.expiresNs });
      this.nowNsValue = first.expiresNs;
    }
    const due: TimerEntry[] = [];
    while (this.timers.peek() && this.timers.peek()!.expiresNs <= this.nowNsValue)
      due.push(this.timers.pop()!);
    while (due.length > 0) {
      const e = due.length === 1 ? due[0]! : this.choose('timer', due);
      if (this.phase !== 'running') return false;
      due.splice(due.indexOf(e), 1);
      if (this.events.active) this.emit('timer-fire', { timer: e.label });
      const hb = this.hb;
      if (hb === null) {
        e.fire();
      } else {
        hb.timerFire(e);
        try {
          e.fire();
        } finally {
          hb.timerFire(null);
        }
      }
    }
    return true;
  }

  // ------------------------------------------------------------ run control

  /** Register a check that runs when the run ends (leaks, indefinite fences); it may report splats. */
  addEndCheck(check: () => void): void {
    this.endChecks.push(check);
  }

  /**
   * Run every thread until all have exited or blocked for good, a limit is
   * reached, or the run fails. Never rejects: failures are in the result.
   */
  run(): Promise<RunResult> {
    if (this.phase !== 'setup')
      throw new Error(
        'Kernel.run() can be called once per kernel; create a new Kernel for another run',
      );
    this.phase = 'running';
    this.last = null;
    guardEnter(this);
    // Deeper stacks for what a thread throws while this run captures stacks (restored at the end).
    if (this.captureStacks) {
      this.savedTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 48);
    }
    return new Promise<RunResult>((resolve) => {
      this.finish = resolve;
      this.armHost();
      this.guarded(() => {
        this.dispatch();
      });
    });
  }

  /** One macrotask per segment: continues a deliberate yield, or detects a foreign await. */
  private armHost(): void {
    const segment = ++this.segment;
    this.cancelHost = hostMacrotask(() => {
      if (this.phase !== 'running' || segment !== this.segment) return;
      const t = this.hostWaiting;
      if (t) {
        this.hostWaiting = null;
        this.armHost();
        this.resumeThread(t);
        return;
      }
      const cur = this.running;
      this.fail(
        'foreign-await',
        cur
          ? `thread "${cur.name}" awaited something that is not a kernel operation (after its kernel operation "${cur.op}"). ` +
              'Simulated threads may await only kernel operations (locks, waits, sleeps, fences); a Node timer, I/O or a foreign promise would make the run irreproducible.'
          : 'the simulation stopped making progress outside any thread (a kernel callback awaited something that is not a kernel operation)',
        cur,
      );
    });
  }

  /** Stop the run because the simulation cannot go on (scenario error). */
  fail(kind: RunFailure['kind'], message: string, t: Thread | null, error?: unknown): void {
    if (this.phase !== 'running') return;
    const stack = throwSite(kind, error);
    this.failure = { kind, message, thread: t?.name ?? null, error, ...(stack ? { stack } : {}) };
    this.end('failed');
  }

  /**
   * Stop the run from outside (Ctrl-C, a wall-clock limit, the end of a
   * partial schedule): it ends as failed with kind `interrupted` and
   * `message`, keeping the splats and the schedule so far. No-op unless
   * running.
   */
  interrupt(message: string): void {
    this.fail('interrupted', message, null);
  }

  /**
   * Call a scenario's `setup` (`fn`) as the kernel's setup: host clocks,
   * `Math.random` and `process.exit` called from it are refused like in a
   * thread (see host-guard.ts). Returns what `fn` returns.
   */
  runSetup<T>(fn: () => T): T {
    this.setupDepth++;
    guardEnter(this);
    try {
      return fn();
    } finally {
      this.setupDepth--;
      if (this.setupDepth === 0 && this.phase !== 'running') guardLeave(this);
    }
  }

  /** Install (or remove with null) a watcher told of thread creation and switches. */
  watch(w: RunWatch | null): void {
    this.watcher = w;
  }

  /** @internal The thread or setup executing in this kernel right now (host-guard.ts). */
  hostCallContext(): string | null {
    if (this.setupDepth > 0) return 'setup';
    if (this.phase !== 'running' || this.handoff) return null;
    const t = this.running;
    return t === null ? null : `thread "${t.name}"`;
  }

  /** @internal Fail the run for a host call made where it must not be (host-guard.ts). */
  hostCallMisuse(call: HostCall, where: string): Error {
    const err = new KernelMisuse(`${call} called in ${where}: ${hostCallFix(call)}`);
    if (where !== 'setup') this.fail('misuse', err.message, this.running, err);
    return err;
  }

  private end(reason: RunEnd): void {
    if (this.phase !== 'running') return;
    this.endReason = reason;
    if (reason === 'deadlock') this.reportDeadlock();
    if (reason === 'step-limit' || reason === 'time-limit') this.reportLimit(reason);
    if (reason !== 'failed') {
      this.running = null;
      for (const check of this.endChecks) check();
    }
    this.phase = 'ended';
    this.running = null;
    guardLeave(this);
    if (this.savedTraceLimit !== null) {
      Error.stackTraceLimit = this.savedTraceLimit;
      this.savedTraceLimit = null;
    }
    if (this.events.active) {
      this.events.emit({
        type: 'run-end',
        tNs: this.nowNsValue,
        step: this.stepCount,
        tid: 0,
        steps: this.stepCount,
        reason,
      });
    }
    const result: RunResult = {
      end: reason,
      splats: this.splats,
      failure: this.failure,
      timeNs: this.nowNsValue,
      steps: this.stepCount,
      seed: this.seed,
      schedule: this.recorded,
      limits: this.limits,
      exits: this.exits,
    };
    this.segment++;
    // Release the pending host callback now: it references this kernel, and
    // a loop of runs that never lets the event loop turn would keep every
    // finished kernel alive until it does.
    this.cancelHost?.();
    this.cancelHost = null;
    this.hostWaiting = null;
    const f = this.finish;
    this.finish = null;
    f?.(result);
  }

  /** True once the run has ended. */
  get ended(): boolean {
    return this.phase === 'ended';
  }

  /** True before `run()`: scenario setup, outside any thread. */
  get inSetup(): boolean {
    return this.phase === 'setup';
  }

  private hasDeadlock(): boolean {
    return this.threads.some((t) => t.state === 'blocked' && !t.daemon);
  }

  private reportDeadlock(): void {
    const blocked = this.threads.filter((t) => t.state === 'blocked' && !t.daemon);
    const stacks: SplatStackInput[] = [];
    if (this.captureStacks) {
      for (const t of blocked) {
        stacks.push({ label: `${t.name} blocked in ${t.op}`, thread: t.name, step: null, stack: t.blockStack });
        for (const h of t.held)
          if (h.map !== t.blocker?.lockMap)
            stacks.push({ label: `${t.name} holding ${h.map.name}, acquired`, thread: t.name, step: h.step, stack: h.stack });
      }
    }
    this.splat({ ...deadlockSplat(blocked), stacks });
  }

  private reportLimit(reason: 'step-limit' | 'time-limit'): void {
    this.splat(limitSplat(reason, this.limits, this.threads));
  }

  // ------------------------------------------------------------- checks

  /** Record a splat (never throws). BUG-severity splats do not kill here: callers decide. */
  splat(s: SplatInput): Splat {
    const t = s.thread === undefined ? this.currentOrNull : s.thread;
    const splat: Splat = {
      rule: s.rule,
      severity: s.severity,
      headline: s.headline,
      body: s.body ?? '',
      thread: t?.name ?? null,
      timeNs: this.nowNsValue,
      step: this.stepCount,
      ...(s.data ? { data: s.data } : {}),
      ...(this.captureStacks ? { stacks: this.reportStacks(t, s.stacks ?? []) } : {}),
    };
    this.splats.push(splat);
    if (this.events.active) this.emit('splat', { rule: s.rule, headline: s.headline });
    return splat;
  }

  /**
   * The backtraces a splat carries when stacks are captured: the reporter's
   * own (an edge of a lockdep chain, an earlier access), then where the
   * report was made, then the locks the reporting thread holds; a stack
   * that folds like an earlier one is left out.
   */
  private reportStacks(t: Thread | null, given: readonly SplatStackInput[]): ReportStack[] {
    const all: SplatStackInput[] = [...given];
    if (t && this.running === t) all.push({ label: 'reported here', thread: t.name, step: this.stepCount, stack: captureStack() });
    if (t) {
      for (const h of t.held)
        all.push({ label: `holding ${h.map.name}, acquired`, thread: t.name, step: h.step, stack: h.stack });
    }
    const out: ReportStack[] = [];
    const seen = new Set<string>();
    for (const s of all) {
      if (!s.stack) continue;
      const frames = foldStack(s.stack);
      const key = foldKey(frames);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ label: s.label, thread: s.thread ?? null, step: s.step ?? null, frames });
    }
    return out;
  }

  /**
   * `might_sleep()`: report "sleeping function called from invalid context"
   * when the current thread is atomic. Called by every sleeping operation.
   */
  mightSleep(op: string): void {
    const t = this.current;
    if (!t.atomic) return;
    this.mightSleepSplat(t, op);
  }

  /**
   * Run `fn`, a callback the kernel invokes synchronously in `t` (a fence
   * callback under the fence lock), as code that cannot be suspended: a
   * sleeping operation called from it must not wait (see `sleeping`).
   * IRQ, softirq and timer contexts get this for their synchronous part
   * without asking.
   */
  syncCallback<T>(t: Thread | null, fn: () => T): T {
    if (t === null) return fn();
    t.syncDepth++;
    try {
      return fn();
    } finally {
      t.syncDepth--;
    }
  }

  /**
   * The entry of a sleeping operation, and the model's rule for sleeping in
   * atomic context.
   *
   * Every sleeping operation calls `might_sleep()`: in atomic context
   * (spinlock held, IRQs or preemption off, an RCU read section, IRQ /
   * softirq / timer context, a fence callback) that is `sched.might_sleep`.
   * What happens next depends on whether the caller can be suspended:
   *
   * - Code that can await (a thread body, the asynchronous part of a
   *   callback, a process-context thread under a spinlock) proceeds as the
   *   kernel does: `sleep()` runs, and if it really blocks that is also
   *   `sched.scheduling_while_atomic`; the thread continues when woken.
   * - Code the kernel runs synchronously (a fence callback, an IRQ handler,
   *   an irq_work, an hrtimer or timer callback, an RCU callback: the thread's
   *   `syncDepth` is raised) cannot be suspended in the model, because its
   *   caller is plain synchronous code. The operation takes its non-sleeping
   *   path at once: `now()` completes it when it can without waiting (a
   *   free lock is taken, a signalled fence or a done completion returns, a
   *   sleep takes no time), and the thread continues, as the kernel's fast
   *   paths would. When it would have to wait, a wait with a timeout ends at
   *   once as timed out (`timedOut()`, nothing else can run meanwhile, so the
   *   model's answer is the one the kernel gives after the timeout), and an
   *   unbounded wait is a certain self-deadlock: `sched.scheduling_while_atomic`
   *   is reported and the context is killed as by BUG(), like a spinlock
   *   lockup (`ThreadKilled` thrown synchronously from the call).
   *
   * Sleeping operations are plain functions returning the promise of
   * `sleep()` (not `async`), so that the kill reaches the synchronous caller.
   */
  sleeping<T>(op: string, now: () => T | WouldSleep, sleep: () => Promise<T>, timedOut?: () => T): Promise<T> {
    let t: Thread;
    try {
      t = this.current;
    } catch (e) {
      // Misuse is reported through the promise, as an async operation would.
      return Promise.reject(e);
    }
    if (t.syncDepth === 0) return sleep();
    this.mightSleepSplat(t, op);
    const r = now();
    if (r !== WOULD_SLEEP) return Promise.resolve(r);
    if (timedOut) return Promise.resolve(timedOut());
    return this.sleepInAtomic(t, op);
  }

  /** A sleeping operation in a synchronous atomic callback would have to wait forever: report and kill. */
  private sleepInAtomic(t: Thread, op: string): never {
    this.splat({
      ...schedulingWhileAtomicSplat(t, op),
      body:
        `${op} would sleep in a synchronous ${t.context === 'process' ? 'callback' : `${t.context} context`} of ${t.name}: ` +
        'nothing else can run until it returns, so the wait could never end. The context is killed (BUG).\n' +
        atomicState(t),
    });
    throw new ThreadKilled(-1);
  }

  private mightSleepSplat(t: Thread, op: string): void {
    if (!t.atomic) return;
    if (t.mightSleepStep === this.stepCount) return;
    t.mightSleepStep = this.stepCount;
    this.splat({
      rule: 'sched.might_sleep',
      severity: 'bug',
      headline: `BUG: sleeping function called from invalid context at ${op}`,
      body: atomicState(t),
      thread: t,
      data: { op },
    });
  }

  private schedulingWhileAtomic(t: Thread, op: string): void {
    t.mightSleepStep = this.stepCount;
    this.splat(schedulingWhileAtomicSplat(t, op));
  }

  /** The held-lock list as lockdep prints it. */
  describeHeld(t: Thread): string {
    return describeHeld(t);
  }

  // ------------------------------------------------------ lock acquisitions

  /**
   * `lock_acquire`: push `map` on the current thread's held-lock stack after
   * the validator has seen it. Every lock and pseudo-lock goes through here.
   */
  lockAcquire(
    map: LockdepMap,
    subclass = 0,
    trylock = false,
    read: LockRead = 0,
    check = true,
    nestLock: LockdepMap | null = null,
    t: Thread = this.current,
  ): void {
    const stack = this.captureStacks ? captureStack() : null;
    const held: HeldLock = {
      map,
      subclass,
      read,
      trylock,
      check,
      nestLock,
      refs: 1,
      timeNs: this.nowNsValue,
      step: this.stepCount,
      site: stack ? siteOfStack(stack) : null,
      stack,
      hardirqsOn: t.hardirqsEnabled,
      softirqsOn: t.softirqsEnabled,
      validatorSlot: null,
    };
    this.validator?.acquire(t, held);
    t.held.push(held);
    if (this.observer !== null) this.observer.touch(map);
    if (this.events.active)
      this.emit('lock-acquire', { lock: map.name, cls: map.key, read, trylock });
  }

  /**
   * `lock_release`: pop `map` from the current thread's stack (any
   * position). False when `t` does not hold it: "bad unlock balance" was
   * reported, which in the kernel turns `debug_locks` off, so a lock's own
   * debug check that would follow (the DEBUG_MUTEXES owner WARN, the
   * spinlock and rwlock "wrong owner" BUGs) stays silent.
   */
  lockRelease(map: LockdepMap, t: Thread = this.current): boolean {
    const held = t.held;
    for (let i = held.length - 1; i >= 0; i--) {
      if (held[i]!.map === map) {
        const h = held[i]!;
        held.splice(i, 1);
        this.validator?.release(t, h);
        if (this.observer !== null) this.observer.touch(map);
        if (this.events.active) this.emit('lock-release', { lock: map.name, cls: map.key });
        return true;
      }
    }
    this.unlockImbalance(map, t);
    return false;
  }

  /**
   * `lock_downgrade`: turn the held exclusive acquisition of `map` into a
   * non-recursive read one in place (same stack position, so no new
   * dependencies), as `downgrade_write` does.
   */
  lockDowngrade(map: LockdepMap, t: Thread = this.current): void {
    for (let i = t.held.length - 1; i >= 0; i--) {
      const h = t.held[i]!;
      if (h.map === map) {
        (h as { read: LockRead }).read = 1;
        this.validator?.downgrade?.(t, h);
        return;
      }
    }
    this.unlockImbalance(map, t);
  }

  private unlockImbalance(map: LockdepMap, t: Thread): void {
    this.validator?.badUnlock(t, map);
    this.splat(unlockImbalanceSplat(t, map, this.captureStacks ? callerSite(3) : null));
  }

  /** `lock_is_held_type(map, read)`: -1 any mode, 0 exclusively, 1 as a reader. */
  lockIsHeld(
    map: LockdepMap,
    read: -1 | 0 | 1 = -1,
    t: Thread | null = this.currentOrNull,
  ): boolean {
    if (!t) return false;
    for (const h of t.held) {
      if (h.map === map) return read === -1 || (read === 0 ? h.read === 0 : h.read !== 0);
    }
    return false;
  }

  // ---------------------------------------------------------------- events

  /**
   * Emit an event stamped with time, step and the running thread. Check
   * `events.active` (or `events.wants(type)`) first. `typed` false: for the
   * trace only, not for the rule book's typed consumers.
   */
  emit<K extends KernelEventType>(type: K, payload: KernelEventMap[K], typed = true): void {
    this.events.emit(
      {
        type,
        tNs: this.nowNsValue,
        step: this.stepCount,
        tid: this.running?.id ?? 0,
        ...payload,
      } as KernelEvent,
      typed,
    );
  }
}
