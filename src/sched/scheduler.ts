import { installEventRules } from '../check/event-rules.ts';
import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from '../check/signalling.ts';
import { DmaFence } from '../fence/index.ts';
import {
  allocOrderedWorkqueue,
  cancelDelayedWork,
  cancelDelayedWorkSync,
  cancelWorkSync,
  DelayedWork,
  destroyWorkqueue,
  Errno,
  GFP_KERNEL,
  MAX_SCHEDULE_TIMEOUT,
  queueWork,
  SpinLock,
  systemWq,
  taintReclaimWorkqueue,
  WaitQueueHead,
  WorkStruct,
  WQ_MEM_RECLAIM,
  U32_MAX,
  wholeArg,
  jiffiesArg,
} from '../kernel/index.ts';
import type { Kernel, WorkqueueStruct } from '../kernel/index.ts';
import type { DrmSchedEntity } from './forward.ts';
import type { DrmSchedJob } from './job.ts';
import './events.ts';
import { SCHED_EVENT_RULES } from './event-rules.ts';
import { drmSchedLockdepMap } from './ops.ts';
import type { DrmSchedBackendOps, DrmSchedCompat, DrmSchedInitArgs, DrmSchedScore } from './ops.ts';
import { jobDoneCb } from './job.ts';
import { JobList } from './job-list.ts';
import { DrmSchedRq } from './rq.ts';
import { reportCreditsExceedLimit } from './rules.ts';
import {
  modDelayed,
  drmSchedFini,
  drmSchedIncreaseKarma,
  drmSchedJobTimedout,
  drmSchedResubmitJobs,
  drmSchedResumeTimeout,
  drmSchedStart,
  drmSchedStartTimeout,
  drmSchedStop,
  drmSchedSuspendTimeout,
} from './tdr.ts';
import { DRM_SCHED_PRIORITY_COUNT, Ewma } from './types.ts';
import type { Awaitable } from '../kernel/index.ts';
import type { DrmSchedPolicy, DrmSchedPriority } from './types.ts';

export type { DrmSchedBackendOps, DrmSchedCompat, DrmSchedInitArgs, DrmSchedScore } from './ops.ts';
export { drmSchedLockdepMap } from './ops.ts';

declare module './forward.ts' {
  /** The forward-declared `DrmGpuScheduler` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DrmGpuScheduler's members
  interface DrmGpuScheduler extends DrmGpuSchedulerClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DrmGpuSchedulerClass = DrmGpuScheduler;

/**
 * `struct drm_gpu_scheduler`: one per hardware ring. Constructing it is
 * `drm_sched_init`: operational immediately. Callable from scenario setup
 * or a thread.
 *
 * @kernel struct drm_gpu_scheduler, drm_sched_init (sched_main.c)
 */
export class DrmGpuScheduler {
  readonly ops: DrmSchedBackendOps;
  readonly name: string;
  readonly dev: unknown;
  /** `credit_limit`; writable (the KUnit credit test lowers it after init). */
  creditLimit: number;
  /** Credits of the jobs on the hardware. */
  creditCount = 0;
  /** Job timeout in jiffies (`MAX_SCHEDULE_TIMEOUT` = never). */
  timeout: number;
  hangLimit: number;
  readonly policy: DrmSchedPolicy;
  /** The version switches in force (`DrmSchedInitArgs.compat`, defaults filled in). */
  readonly compat: Required<DrmSchedCompat>;
  /** Run queues: one (fair) or one per priority (legacy). */
  readonly rqs: DrmSchedRq[];
  /** `pending_list`: run and not yet freed, in run order. */
  readonly pendingList = new JobList();
  /** `job_list_lock`. */
  readonly jobListLock: SpinLock;
  readonly submitWq: WorkqueueStruct;
  readonly timeoutWq: WorkqueueStruct;
  readonly ownSubmitWq: boolean;
  readonly workRunJob: WorkStruct;
  readonly workFreeJob: WorkStruct;
  readonly workTdr: DelayedWork;
  /** `score`: load metric for `drm_sched_pick_best` (possibly shared). */
  readonly score: DrmSchedScore;
  /** `ready`: true after init, false after fini. */
  ready = false;
  /** `pause_submit`: set by `wqueueStop`. */
  pauseSubmit = false;
  /** `free_guilty`: the bad job completed during `stop`; free it after the handler. */
  freeGuilty = false;
  /** `job_scheduled`: woken after each `run_job` and by fini. */
  readonly jobScheduled: WaitQueueHead;
  jobIdCount = 0;
  /** EWMA of job GPU time, µs (fair policy). */
  readonly avgJobUs = new Ewma();
  readonly signallingAnnotations: boolean;

  constructor(
    readonly kernel: Kernel,
    args: DrmSchedInitArgs<never>,
  ) {
    const k = kernel;
    if (!args.ops || typeof args.ops.runJob !== 'function') throw new Error('drm_sched_init: ops.runJob is mandatory');
    wholeArg('drm_sched_init: args.creditLimit', 'creditLimit', args.creditLimit, '(u32)', U32_MAX, 1);
    if (args.timeout !== undefined) jiffiesArg('drm_sched_init: args.timeout', 'timeout', args.timeout);
    if (args.hangLimit !== undefined) wholeArg('drm_sched_init: args.hangLimit', 'hangLimit', args.hangLimit, '(unsigned int)', U32_MAX);
    this.ops = args.ops;
    this.name = args.name;
    // The rule book's drm_sched consumers (job order, dependencies) judge this kernel's events.
    installEventRules(k, 'sched', SCHED_EVENT_RULES);
    this.dev = args.dev ?? null;
    this.creditLimit = args.creditLimit;
    this.timeout = args.timeout ?? MAX_SCHEDULE_TIMEOUT;
    this.hangLimit = args.hangLimit ?? 0;
    this.policy = args.policy ?? 'fair';
    this.compat = {
      dependencyRelease: args.compat?.dependencyRelease ?? 'v6.5+',
      killJobsCb: args.compat?.killJobsCb ?? 'v6.18+',
    };
    this.score = args.score ?? { value: 0 };
    this.signallingAnnotations = args.signallingAnnotations ?? true;
    this.rqs =
      this.policy === 'fair'
        ? [new DrmSchedRq(this, 'fair', null)]
        : Array.from({ length: DRM_SCHED_PRIORITY_COUNT }, (_, p) => new DrmSchedRq(this, this.policy, p as DrmSchedPriority));
    this.jobListLock = new SpinLock(k, '&sched->job_list_lock', { key: 'drm_gpu_scheduler.job_list_lock' });
    this.jobScheduled = new WaitQueueHead(k, `${this.name}.job_scheduled`);
    if (args.submitWq) {
      this.submitWq = args.submitWq;
      this.ownSubmitWq = false;
    } else {
      this.submitWq = allocOrderedWorkqueue(k, args.name, WQ_MEM_RECLAIM, { lockdepMap: drmSchedLockdepMap(k) });
      this.ownSubmitWq = true;
    }
    this.timeoutWq = args.timeoutWq ?? systemWq(k);
    this.workRunJob = new WorkStruct(k, () => this.runJobWork(), `drm_sched_run_job_work(${this.name})`, { key: 'drm_sched_run_job_work' });
    this.workFreeJob = new WorkStruct(k, () => this.freeJobWork(), `drm_sched_free_job_work(${this.name})`, { key: 'drm_sched_free_job_work' });
    this.workTdr = new DelayedWork(k, () => drmSchedJobTimedout(this), `drm_sched_job_timedout(${this.name})`, { key: 'drm_sched_job_timedout' });
    if ((args.reclaimTaint ?? true) && k.validator !== null) {
      const wqs = args.timeoutWq ? [this.submitWq, args.timeoutWq] : [this.submitWq];
      const taint = (): void => {
        for (const wq of wqs) taintReclaimWorkqueue(wq, GFP_KERNEL);
      };
      // drm_sched_init runs in a driver's probe (process context); from scenario setup a short kthread plays that part.
      if (k.currentOrNull) taint();
      else k.kthreadRun(`drm_sched_init:${this.name}`, taint);
    }
    this.ready = true;
  }

  /** The run queue an entity of `priority` joins. */
  rqFor(priority: DrmSchedPriority): DrmSchedRq {
    return this.rqs.length === 1 ? this.rqs[0]! : this.rqs[Math.min(priority, this.rqs.length - 1)]!;
  }

  /** @internal */
  scoreInc(): void {
    this.score.value++;
  }

  /** @internal */
  scoreDec(): void {
    this.score.value--;
  }

  /** `drm_sched_available_credits`. */
  availableCredits(): number {
    return this.creditLimit - this.creditCount;
  }

  /**
   * `drm_sched_can_queue`: the entity's head job fits in the free credits. A
   * job larger than the limit is truncated with a WARN so it can progress.
   */
  canQueue(entity: DrmSchedEntity): boolean {
    const job = entity.jobQueue.peek();
    if (!job) return false;
    if (job.credits > this.creditLimit) {
      reportCreditsExceedLimit(this, job);
      job.credits = this.creditLimit;
    }
    return this.availableCredits() >= job.credits;
  }

  /**
   * `drm_sched_select_entity`: the first ready entity of the most important
   * run queue that has one. If its head job does not fit the free credits,
   * nothing is selected (-ENOSPC: lower entities are not considered). Marks
   * the selected entity busy (`entity_idle`).
   */
  selectEntity(): DrmSchedEntity | null {
    for (const rq of this.rqs) {
      const entity = rq.peek();
      if (!entity) continue;
      if (!this.canQueue(entity)) return null;
      entity.entityIdle.reinit();
      return entity;
    }
    return null;
  }

  /** `dev_name(sched->dev)` as the tracepoints print it: the device's name, else the scheduler's. */
  get devName(): string {
    const d = this.dev as { name?: unknown } | string | null;
    if (typeof d === 'string') return d;
    if (d && typeof d.name === 'string') return d.name;
    return this.name;
  }

  /** `drm_sched_wakeup` / `drm_sched_run_job_queue`: queue the run worker unless paused. Any context. */
  wakeup(): void {
    if (!this.pauseSubmit) queueWork(this.submitWq, this.workRunJob);
  }

  /** `__drm_sched_run_free_queue`: queue the free worker unless paused. Any context. */
  runFreeQueueNow(): void {
    if (!this.pauseSubmit) queueWork(this.submitWq, this.workFreeJob);
  }

  /** `drm_sched_run_free_queue`: queue the free worker if the oldest pending job finished. */
  runFreeQueue(): void {
    const job = this.pendingList.first();
    if (job?.sFence?.finished.signalled) this.runFreeQueueNow();
  }

  /** @internal run a driver callback inside a signalling section (when annotated). */
  async annotated<T>(fn: () => Awaitable<T>): Promise<T> {
    const k = this.kernel;
    const cookie = this.signallingAnnotations && k.validator !== null ? dmaFenceBeginSignalling(k) : true;
    try {
      return await fn();
    } finally {
      dmaFenceEndSignalling(k, cookie);
    }
  }

  /** @internal `ops->prepare_job`. */
  callPrepareJob(job: DrmSchedJob, entity: DrmSchedEntity): Promise<DmaFence | null> {
    return this.annotated(() => this.ops.prepareJob!(job, entity));
  }

  /**
   * `drm_sched_run_job_work`: select an entity, pop its head job (or find it
   * blocked), charge its credits, put it on the pending list (arming the
   * timeout), call `run_job`, signal `scheduled`, and wire the hardware
   * fence to `drm_sched_job_done`. One job per invocation; re-queues itself.
   */
  private async runJobWork(): Promise<void> {
    const entity = this.selectEntity();
    if (!entity) return;
    const job = await entity.popJob();
    if (!job) {
      entity.entityIdle.completeAll();
      this.wakeup();
      return;
    }
    const k = this.kernel;
    const sFence = job.sFence!;
    this.creditCount += job.credits;
    this.jobBegin(job);
    if (k.events.wants('sched-job-run'))
      k.emit('sched-job-run', {
        sched: this.name,
        job: job.id,
        fence: fenceLabel(sFence.finished),
        credits: job.credits,
        dev: this.devName,
        jobCount: entity.jobQueue.length,
        hwJobCount: this.creditCount,
        clientId: sFence.clientId,
      });
    const fence = await this.annotated(() => this.ops.runJob(job));
    entity.entityIdle.completeAll();
    sFence.fenceScheduled(fence instanceof DmaFence ? fence : null);
    if (fence instanceof DmaFence) {
      const r = fence.addCallback(job.cb, jobDoneCb);
      if (r === -Errno.ENOENT) this.jobDone(job, fence.error);
      fence.put();
    } else {
      this.jobDone(job, typeof fence === 'number' ? fence : 0);
    }
    this.jobScheduled.wakeUpAll();
    this.wakeup();
  }

  /** `drm_sched_job_begin`: append to the pending list and (re)arm the timeout. */
  private jobBegin(job: DrmSchedJob): void {
    this.jobListLock.lock();
    this.pendingList.addTail(job);
    drmSchedStartTimeout(this);
    this.jobListLock.unlock();
  }

  /**
   * `drm_sched_job_done`: release the credits and the score, signal
   * `finished` (with `result` as error when non-zero), queue the free
   * worker. Runs in the signaller's context (often an IRQ).
   */
  jobDone(job: DrmSchedJob, result: number): void {
    const s = job.sFence!;
    this.creditCount -= job.credits;
    this.scoreDec();
    const k = this.kernel;
    // run_job → the hardware's completion → free_job.
    k.hb?.release(k.currentOrNull, job);
    if (k.events.wants('sched-job-done')) k.emit('sched-job-done', { sched: this.name, job: job.id, fence: fenceLabel(s.finished), result });
    const f = s.finished.get();
    s.fenceFinished(result);
    f.put();
    this.runFreeQueueNow();
  }

  /**
   * `drm_sched_get_finished_job`: take the oldest pending job if its finished
   * fence signalled (strict in-order freeing), cancel the timeout, give the
   * next job a more accurate start time and re-arm; account the GPU time.
   */
  private getFinishedJob(): DrmSchedJob | null {
    this.jobListLock.lock();
    const job = this.pendingList.first();
    if (!job || !job.sFence!.finished.signalled) {
      this.jobListLock.unlock();
      return null;
    }
    this.pendingList.remove(job);
    cancelDelayedWork(this.workTdr);
    const s = job.sFence!;
    const gpuNs = Math.max(0, s.finished.timestampNs - s.scheduled.timestampNs);
    const stats = job.entityStats;
    if (stats) {
      stats.runtime += gpuNs;
      stats.avgJobUs.add(gpuNs / 1000);
    }
    this.avgJobUs.add(gpuNs / 1000);
    const next = this.pendingList.first();
    if (next) {
      const ns = next.sFence!.scheduled;
      if (ns.signalled) ns.timestampNs = s.finished.timestampNs;
      drmSchedStartTimeout(this);
    }
    this.jobListLock.unlock();
    return job;
  }

  /** @internal `ops->free_job` (annotated when called from the free worker). */
  async callFreeJob(job: DrmSchedJob, annotate: boolean): Promise<void> {
    const k = this.kernel;
    if (k.events.active && job.sFence) k.emit('sched-job-free', { sched: this.name, job: job.id, fence: fenceLabel(job.sFence.finished) });
    const hb = k.hb;
    hb?.acquire(k.currentOrNull, job);
    if (annotate) await this.annotated(() => this.ops.freeJob(job));
    else await this.ops.freeJob(job);
    // free_job frees the driver's job (kfree in the driver): poisoned from here on.
    hb?.free(k.currentOrNull, job, 'free_job');
  }

  /** `drm_sched_free_job_work`: free one finished job, then re-queue both workers. */
  private async freeJobWork(): Promise<void> {
    const job = this.getFinishedJob();
    if (job) await this.callFreeJob(job, true);
    this.runFreeQueue();
    this.wakeup();
  }

  // ---------------------------------------------------------- control

  /** `drm_sched_wqueue_stop`: pause submission and wait for both workers. Process context. */
  async wqueueStop(): Promise<void> {
    this.pauseSubmit = true;
    await cancelWorkSyncBoth(this);
  }

  /** `drm_sched_wqueue_start`: resume and kick both workers. */
  wqueueStart(): void {
    this.pauseSubmit = false;
    queueWork(this.submitWq, this.workRunJob);
    queueWork(this.submitWq, this.workFreeJob);
  }

  /** `drm_sched_wqueue_ready`. */
  wqueueReady(): boolean {
    return this.ready;
  }

  /** `drm_sched_is_stopped`. */
  isStopped(): boolean {
    return this.pauseSubmit;
  }

  /** `drm_sched_stop(sched, bad)`. See `drmSchedStop`. */
  stop(bad: DrmSchedJob | null): Promise<void> {
    return drmSchedStop(this, bad);
  }

  /** `drm_sched_start(sched, errno)`. See `drmSchedStart`. */
  start(errno = 0): void {
    drmSchedStart(this, errno);
  }

  /** `drm_sched_resubmit_jobs` (deprecated). See `drmSchedResubmitJobs`. */
  resubmitJobs(): Promise<void> {
    return drmSchedResubmitJobs(this);
  }

  /** `drm_sched_increase_karma`. */
  increaseKarma(bad: DrmSchedJob): void {
    drmSchedIncreaseKarma(bad);
  }

  /** `drm_sched_fault`: run the timeout handler now. Any context. */
  fault(): void {
    modDelayed(this, 0);
  }

  /** `drm_sched_tdr_queue_imm`: timeout 0 and arm. */
  tdrQueueImm(): void {
    this.jobListLock.lock();
    this.timeout = 0;
    drmSchedStartTimeout(this);
    this.jobListLock.unlock();
  }

  /** `drm_sched_suspend_timeout`: the TDR no longer fires; returns the jiffies it had left. See `drmSchedSuspendTimeout`. */
  suspendTimeout(): number {
    return drmSchedSuspendTimeout(this);
  }

  /** `drm_sched_resume_timeout`: re-arm the TDR with `remaining` jiffies (or cancel it if nothing is pending). */
  resumeTimeout(remaining: number): void {
    drmSchedResumeTimeout(this, remaining);
  }

  /** `drm_sched_job_is_signaled` (scheduler stopped): parent or finished signalled. */
  jobIsSignaled(job: DrmSchedJob): boolean {
    const s = job.sFence!;
    return (s.parent?.signalled ?? false) || s.finished.signalled;
  }

  /** `drm_sched_fini`. See `drmSchedFini`. */
  fini(): Promise<void> {
    return drmSchedFini(this);
  }

  /** @internal destroy an owned submit queue (fini). */
  async destroyOwnedWq(): Promise<void> {
    if (this.ownSubmitWq) await destroyWorkqueue(this.submitWq);
    await cancelDelayedWorkSync(this.workTdr);
  }

  toString(): string {
    return `drm_sched ${this.name}`;
  }
}

async function cancelWorkSyncBoth(sched: DrmGpuScheduler): Promise<void> {
  await cancelWorkSync(sched.workRunJob);
  await cancelWorkSync(sched.workFreeJob);
}

function fenceLabel(f: DmaFence): string {
  return `${f.context}:${f.seqno}`;
}

/**
 * `drm_sched_pick_best`: the ready scheduler with the smallest score (the
 * first wins ties); schedulers not ready are skipped.
 *
 * @kernel drm_sched_pick_best
 */
export function drmSchedPickBest(list: readonly DrmGpuScheduler[]): DrmGpuScheduler | null {
  let best: DrmGpuScheduler | null = null;
  let min = Number.POSITIVE_INFINITY;
  for (const s of list) {
    if (!s.ready) continue;
    if (s.score.value < min) {
      min = s.score.value;
      best = s;
    }
  }
  return best;
}
