import { fsReclaimAcquire, fsReclaimRelease } from './alloc.ts';
import { wholeArg } from './args.ts';
import { ThreadKilled } from './kernel.ts';
import type { Kernel } from './kernel.ts';
import { LdWait, LockdepMap } from './lockdep-map.ts';
import type { Blocker, Thread } from './thread.ts';

declare module './events.ts' {
  interface KernelEventMap {
    'work-queue': { work: string; wq: string };
    'work-start': { work: string; wq: string; worker: string };
    'work-end': { work: string; wq: string; worker: string };
  }
}

/** `WQ_*` flags of `alloc_workqueue` (include/linux/workqueue.h). */
export const WQ_UNBOUND = 1 << 1;
export const WQ_FREEZABLE = 1 << 2;
export const WQ_MEM_RECLAIM = 1 << 3;
export const WQ_HIGHPRI = 1 << 4;
export const WQ_CPU_INTENSIVE = 1 << 5;
export const __WQ_ORDERED = 1 << 17;
/** Largest max_active; 0 asks for `WQ_DFL_ACTIVE`. */
export const WQ_MAX_ACTIVE = 2048;
export const WQ_DFL_ACTIVE = WQ_MAX_ACTIVE / 2;

/** A work function (`work_func_t`). Runs in process context in a worker; may sleep. */
export type WorkFunc = (work: WorkStruct) => Promise<void> | void;

/**
 * One queueing of a work item, from `queue_work` until it has run or was cancelled.
 *
 * @kernel none: one queueing of a struct work_struct, recorded for happens-before (the kernel reuses the item)
 */
export class WorkInstance {
  retired = false;
  worker: Thread | null = null;
  constructor(
    readonly work: WorkStruct,
    readonly wq: WorkqueueStruct,
  ) {}
}

/** Options of `INIT_WORK`: the lockdep class key (default: the creation site). */
export interface WorkInit {
  key?: string;
}

/**
 * `struct work_struct`. Each work item has a lockdep map (class per
 * `INIT_WORK` site, like the kernel's static key) that the worker holds while
 * the function runs and that flushes and cancels acquire. A work item never
 * runs concurrently with itself (the kernel guarantees this per workqueue; the
 * model everywhere).
 *
 * @kernel struct work_struct, INIT_WORK
 */
export class WorkStruct {
  readonly dep: LockdepMap;
  /** @internal the queued, not yet started instance (`WORK_STRUCT_PENDING`). */
  pendingInst: WorkInstance | null = null;
  /** @internal the instance a worker is running. */
  runningInst: WorkInstance | null = null;
  /** @internal cancel_work_sync in progress: queueing fails. */
  canceling = 0;

  constructor(
    readonly kernel: Kernel,
    readonly func: WorkFunc,
    readonly name = 'work',
    opts: WorkInit = {},
  ) {
    this.dep = new LockdepMap(`(work_completion)${name}`, opts.key ?? kernel.creationSite(name), LdWait.INV);
  }

  /** @internal true while PENDING is set (queued, or a delayed work's timer armed). */
  isPending(): boolean {
    return this.pendingInst !== null;
  }

  /** @internal drop the pending state (timer or queue entry); true if it was pending. */
  grabPending(): boolean {
    const inst = this.pendingInst;
    if (!inst) return false;
    this.pendingInst = null;
    inst.wq.unqueue(inst);
    return true;
  }
}

/** `INIT_WORK`: a work item whose lockdep class is the caller's location. @kernel INIT_WORK */
export function initWork(k: Kernel, func: WorkFunc, name = 'work', opts: WorkInit = {}): WorkStruct {
  return new WorkStruct(k, func, name, { key: opts.key ?? k.creationSite(name) });
}

/** @internal */
export interface WorkerInfo {
  readonly wq: WorkqueueStruct;
  readonly thread: Thread;
  current: WorkInstance | null;
  kicked: boolean;
}

const WORKER = 'workqueue.worker';

/**
 * @internal the worker state of `t`, if it is a workqueue worker.
 *
 * @kernel current_wq_worker
 */
export function workerOf(t: Thread | null): WorkerInfo | null {
  return (t?.local.get(WORKER) as WorkerInfo | undefined) ?? null;
}

/** `current_work()`: the work item the current worker runs, or null. @kernel current_work */
export function currentWork(k: Kernel): WorkStruct | null {
  return workerOf(k.currentOrNull)?.current?.work ?? null;
}

/**
 * `struct workqueue_struct` with its workers. Workers are daemon kthreads
 * created on demand (at most `maxActive`) that sleep while idle; they start
 * items in queue order (an ordered queue strictly FIFO, one at a time; an
 * unbound queue lets the chooser pick which pending item starts next, as
 * items queued from different CPUs may start in any order). `WQ_HIGHPRI` and
 * `WQ_CPU_INTENSIVE` change nothing: priorities are the chooser's business.
 *
 * @kernel alloc_workqueue (kernel/workqueue.c)
 */
export class WorkqueueStruct {
  readonly dep: LockdepMap;
  readonly maxActive: number;
  /** @internal queued, not started (FIFO). */
  readonly pending: WorkInstance[] = [];
  /** @internal queued or running, for flush_workqueue. */
  readonly inflight = new Set<WorkInstance>();
  /** @internal running items. */
  active = 0;
  /** @internal */
  draining = false;
  /** @internal */
  destroyed = false;
  private readonly workers: WorkerInfo[] = [];
  private readonly idle: WorkerInfo[] = [];
  private waking = 0;
  private readonly flushers: Thread[] = [];
  private nextWorker = 0;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    readonly flags: number,
    maxActive: number,
    lockdepMap?: LockdepMap,
  ) {
    wholeArg(`alloc_workqueue("${name}")`, 'max_active', maxActive, '(0 for the default)', WQ_MAX_ACTIVE);
    this.maxActive = maxActive === 0 ? WQ_DFL_ACTIVE : maxActive;
    this.dep = lockdepMap ?? new LockdepMap(`(wq_completion)${name}`, `(wq_completion)${name}`, LdWait.INV);
  }

  /** Ordered queue (`__WQ_ORDERED`, max_active 1). */
  get ordered(): boolean {
    return (this.flags & __WQ_ORDERED) !== 0;
  }

  /** Has a rescuer (`WQ_MEM_RECLAIM`). */
  get rescuer(): boolean {
    return (this.flags & WQ_MEM_RECLAIM) !== 0;
  }

  /** Workers currently running an item (deadlock reports name them). */
  busyWorkers(): Thread[] {
    return this.workers.filter((w) => w.current !== null).map((w) => w.thread);
  }

  /** @internal queue an instance and wake a worker if one may start it. */
  enqueue(work: WorkStruct): void {
    const k = this.kernel;
    // queue_work → the work function: the item sees everything its queuers did.
    k.hb?.release(k.currentOrNull, work);
    const inst = new WorkInstance(work, this);
    work.pendingInst = inst;
    this.pending.push(inst);
    this.inflight.add(inst);
    if (k.events.active) k.emit('work-queue', { work: work.name, wq: this.name });
    this.kick();
  }

  /** @internal remove a pending instance (cancel): it retires without running. */
  unqueue(inst: WorkInstance): void {
    const i = this.pending.indexOf(inst);
    if (i >= 0) this.pending.splice(i, 1);
    this.retire(inst);
  }

  private retire(inst: WorkInstance): void {
    inst.retired = true;
    this.inflight.delete(inst);
    const k = this.kernel;
    for (const t of this.flushers.splice(0)) k.wake(t);
  }

  /** Wake or create workers for the items that may start now. */
  private kick(): void {
    let need = Math.min(this.pending.length, this.maxActive - this.active) - this.waking;
    for (; need > 0; need--) {
      const w = this.idle.shift();
      if (w) {
        w.kicked = true;
        this.waking++;
        this.kernel.wake(w.thread);
      } else if (!this.destroyed) {
        this.spawnWorker();
      }
    }
  }

  private spawnWorker(): void {
    const k = this.kernel;
    const name = `kworker/${this.name}:${this.nextWorker++}`;
    let info: WorkerInfo | null = null;
    const t = k.kthreadRun(name, (self) => this.workerThread(info!, self), { daemon: true });
    info = { wq: this, thread: t, current: null, kicked: true };
    t.local.set(WORKER, info);
    this.workers.push(info);
    this.waking++;
  }

  /** Next instance a worker may start, or null. */
  private takeNext(): WorkInstance | null {
    if (this.active >= this.maxActive || this.pending.length === 0) return null;
    let inst: WorkInstance | undefined;
    if (this.ordered) {
      inst = this.pending[0];
      if (inst?.work.runningInst) return null;
    } else {
      const ready = this.pending.filter((i) => i.work.runningInst === null);
      if (ready.length > 1 && (this.flags & WQ_UNBOUND) !== 0) {
        inst = this.kernel.choose('thread', ready.map((i) => ({ label: i.work.name, i }))).i;
      } else {
        inst = ready[0];
      }
    }
    if (!inst) return null;
    this.pending.splice(this.pending.indexOf(inst), 1);
    return inst;
  }

  /** @kernel worker_thread */
  private async workerThread(info: WorkerInfo, self: Thread): Promise<void> {
    const k = this.kernel;
    const idle: Blocker = { describe: () => `idle worker of ${this.name}`, owners: () => [] };
    for (;;) {
      if (info.kicked) {
        info.kicked = false;
        this.waking--;
      }
      const inst = this.takeNext();
      if (!inst) {
        if (this.destroyed) return;
        self.daemon = true;
        this.idle.push(info);
        await k.block(self, idle, 'worker_thread');
        continue;
      }
      self.daemon = false;
      await this.processOneWork(info, self, inst);
    }
  }

  /** @kernel process_one_work */
  private async processOneWork(info: WorkerInfo, self: Thread, inst: WorkInstance): Promise<void> {
    const k = this.kernel;
    const work = inst.work;
    work.pendingInst = null; // PENDING clears as the item starts: it may be requeued while running
    work.runningInst = inst;
    inst.worker = self;
    info.current = inst;
    this.active++;
    if (k.events.active) k.emit('work-start', { work: work.name, wq: this.name, worker: self.name });
    const before = { depth: self.held.length, preempt: self.preemptCount, irqs: self.irqsDisabled, bh: self.bhDisabled, rcu: self.rcuReadDepth };
    const hb = k.hb;
    if (hb !== null) {
      // Queued → runs; the previous run of the item (never concurrent with this one);
      // on an ordered queue, the item before it.
      hb.acquire(self, work);
      if (this.ordered) hb.acquire(self, this);
    }
    k.lockAcquire(this.dep, 0, false, 0, true, null, self);
    k.lockAcquire(work.dep, 0, false, 0, true, null, self);
    try {
      await work.func(work);
    } catch (e) {
      if (e instanceof ThreadKilled) {
        // BUG() in the work: the worker dies with the item stuck "running".
        k.lockRelease(work.dep, self);
        k.lockRelease(this.dep, self);
        this.workers.splice(this.workers.indexOf(info), 1);
      }
      throw e;
    }
    k.lockRelease(work.dep, self);
    k.lockRelease(this.dep, self);
    if (hb !== null) {
      hb.release(self, inst);
      hb.release(self, work);
      if (this.ordered) hb.release(self, this);
    }
    if (k.events.active) k.emit('work-end', { work: work.name, wq: this.name, worker: self.name });
    this.checkLeak(self, work, before);
    await k.schedulePoint('cond_resched');
    info.current = null;
    work.runningInst = null;
    this.active--;
    this.retire(inst);
    // The item may be pending again (here or on another queue) behind its own run.
    const again = work.pendingInst as WorkInstance | null; // may have been requeued while running
    if (again && again.wq !== this) again.wq.kick();
  }

  private checkLeak(self: Thread, work: WorkStruct, b: { depth: number; preempt: number; irqs: number; bh: number; rcu: number }): void {
    if (self.held.length === b.depth && self.preemptCount === b.preempt && self.irqsDisabled === b.irqs && self.bhDisabled === b.bh && self.rcuReadDepth === b.rcu) return;
    const k = this.kernel;
    k.validator?.leaked?.(self, `work ${work.name}`);
    k.splat({
      rule: 'workqueue.leaked_lock_or_atomic',
      severity: 'bug',
      headline: `BUG: workqueue leaked lock or atomic: ${self.name}/0x${self.preemptCount.toString(16).padStart(8, '0')}/${self.id}`,
      body:
        `     last function: ${work.name} (wq ${this.name})\n` +
        `     preempt=0x${self.preemptCount.toString(16).padStart(8, '0')} lock=${b.depth}->${self.held.length} RCU=${b.rcu}->${self.rcuReadDepth} irqs_disabled=${b.irqs}->${self.irqsDisabled}\n` +
        (self.held.length ? `${self.held.length} lock${self.held.length > 1 ? 's' : ''} held by ${self.name}:\n${k.describeHeld(self)}` : 'no locks held'),
      thread: self,
      data: { work: work.name, wq: this.name, lockDepth: [b.depth, self.held.length], preemptCount: self.preemptCount, rcuDepth: [b.rcu, self.rcuReadDepth] },
    });
    // Deliberate difference: the atomic state is restored so the worker can
    // go on without a cascade of scheduling-while-atomic reports; leaked
    // locks stay held, as in the kernel.
    self.preemptCount = b.preempt;
    self.irqsDisabled = b.irqs;
    self.bhDisabled = b.bh;
  }

  /** @internal sleep until `done()`; woken whenever an item of this queue retires. */
  async waitRetired(done: () => boolean, op: string, what: string, owners: () => readonly Thread[]): Promise<void> {
    const k = this.kernel;
    const self = k.current;
    const blocker: Blocker = { describe: () => what, owners };
    while (!done()) {
      this.flushers.push(self);
      await k.block(self, blocker, op);
    }
  }

  /** @internal workers exit once the queue is destroyed. */
  wakeIdleToExit(): void {
    for (const w of this.idle.splice(0)) this.kernel.wake(w.thread);
  }
}

/** Options of `allocWorkqueue`. */
export interface WorkqueueInit {
  /** Share a lockdep map between queues (`alloc_workqueue_lockdep_map`, e.g. drm_sched's). */
  lockdepMap?: LockdepMap;
}

/**
 * `alloc_workqueue(name, flags, max_active)`. `maxActive` 0 means the
 * default (`WQ_DFL_ACTIVE`). Callable from setup or any thread. Never fails in
 * the model (a deliberate difference: the kernel may return NULL).
 *
 * @kernel alloc_workqueue, alloc_workqueue_lockdep_map
 */
export function allocWorkqueue(k: Kernel, name: string, flags = 0, maxActive = 0, opts: WorkqueueInit = {}): WorkqueueStruct {
  return new WorkqueueStruct(k, name, flags, maxActive, opts.lockdepMap);
}

/**
 * `alloc_ordered_workqueue(name, flags)`: at most one item at a time, in
 * queue order.
 *
 * @kernel alloc_ordered_workqueue, alloc_ordered_workqueue_lockdep_map
 */
export function allocOrderedWorkqueue(k: Kernel, name: string, flags = 0, opts: WorkqueueInit = {}): WorkqueueStruct {
  return new WorkqueueStruct(k, name, flags | WQ_UNBOUND | __WQ_ORDERED, 1, opts.lockdepMap);
}

function isChainedWork(k: Kernel, wq: WorkqueueStruct): boolean {
  return workerOf(k.currentOrNull)?.current?.wq === wq;
}

/**
 * Common checks of every queueing; returns false if the item must not be queued.
 *
 * @kernel __queue_work (its checks for a destroyed or draining workqueue)
 */
export function queueAllowed(wq: WorkqueueStruct, work: WorkStruct): boolean {
  const k = wq.kernel;
  if (wq.destroyed) {
    k.splat({
      rule: 'workqueue.use_after_destroy',
      severity: 'bug',
      headline: `BUG: KASAN: use-after-free: queueing ${work.name} on destroyed workqueue ${wq.name}`,
      data: { work: work.name, wq: wq.name },
    });
    return false;
  }
  if (wq.draining && !isChainedWork(k, wq)) {
    k.splat({
      rule: 'workqueue.queue_while_draining',
      severity: 'warn',
      headline: `WARNING: workqueue: cannot queue ${work.name} on wq ${wq.name}`,
      body: 'the workqueue is being drained or destroyed; only its own work items may queue more work on it',
      data: { work: work.name, wq: wq.name },
    });
    return false;
  }
  return true;
}

/**
 * `queue_work`: queue `work` on `wq`. Returns false if it was already pending
 * (queued, or a delayed work's timer armed), true otherwise. Any context.
 * Queueing while the queue drains (from outside its own items) is a WARN and
 * is dropped; it still returns true, as in the kernel.
 *
 * @kernel queue_work
 */
export function queueWork(wq: WorkqueueStruct, work: WorkStruct): boolean {
  if (work.canceling > 0 || work.isPending()) {
    // Already pending: the pending run still sees what this caller did before.
    if (work.isPending()) wq.kernel.hb?.release(wq.kernel.currentOrNull, work);
    return false;
  }
  if (!queueAllowed(wq, work)) return !wq.destroyed;
  wq.enqueue(work);
  return true;
}

/** `work_pending`: queued, or (delayed work) timer armed. @kernel work_pending */
export function workPending(work: WorkStruct): boolean {
  return work.isPending();
}

/**
 * `taint_reclaim_workqueue(wq, gfp)` (Matthew Brost's Oct 2025 RFC, not
 * merged): record `fs_reclaim → wq map`, declaring that reclaim may wait on
 * this queue, so any reclaiming allocation in its items closes a cycle.
 * Process context.
 *
 * @kernel taint_reclaim_workqueue (RFC)
 */
export function taintReclaimWorkqueue(wq: WorkqueueStruct, gfp: number): void {
  const k = wq.kernel;
  fsReclaimAcquire(k, gfp);
  k.lockAcquire(wq.dep, 0, false, 0, true, null);
  k.lockRelease(wq.dep);
  fsReclaimRelease(k, gfp);
}

/** Short name of `taintReclaimWorkqueue`. */
export const taintReclaim = taintReclaimWorkqueue;
