/**
 * A mock GPU behind drm_sched, in the style of the kernel's KUnit mock
 * scheduler: jobs complete after a set duration (an hrtimer) or when the test
 * advances the hardware timeline by hand. Exported for users' own tests.
 *
 * @kernel drivers/gpu/drm/scheduler/tests/mock_scheduler.c, sched_tests.h
 */
import { DmaFence, dmaFenceContextAlloc } from '../fence/index.ts';
import type { DmaFenceOps } from '../fence/index.ts';
import { Completion, Errno, HrTimer, MAX_SCHEDULE_TIMEOUT, SpinLock, U32_MAX, wholeArg } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { DrmSchedEntity } from './entity.ts';
import { DrmSchedJob } from './job.ts';
import { DrmGpuScheduler } from './scheduler.ts';
import type { DrmSchedBackendOps, DrmSchedCompat, DrmSchedInitArgs } from './scheduler.ts';
import { DrmGpuSchedStat, DrmSchedPriority } from './types.ts';
import type { DrmSchedPolicy } from './types.ts';

/** `DRM_MOCK_SCHED_JOB_*` flags. */
export const DRM_MOCK_SCHED_JOB_DONE = 0x1;
export const DRM_MOCK_SCHED_JOB_TIMEDOUT = 0x2;
export const DRM_MOCK_SCHED_JOB_DONT_RESET = 0x4;
/** Set by the timeout handler each time it skipped a reset for a DONT_RESET job (a status, never cleared). */
export const DRM_MOCK_SCHED_JOB_RESET_SKIPPED = 0x8;

/**
 * `struct drm_mock_sched_job`.
 *
 * @kernel struct drm_mock_sched_job
 */
export class DrmMockSchedJob extends DrmSchedJob {
  /** Completed by the mock hardware. */
  readonly done: Completion;
  flags = 0;
  /** Simulated duration, µs; 0 = completes only on `advance`. */
  durationUs = 0;
  /** Absolute completion time, ns (jobs with a duration). */
  finishAtNs = 0;
  /** The hardware fence (initialised by run_job). */
  hwFence: DmaFence | null = null;
  /** @internal */
  timer: HrTimer | null = null;

  constructor(k: Kernel) {
    super(k);
    this.done = new Completion(k, 'mock_job.done');
  }
}

const hwFenceOps: DmaFenceOps = {
  getDriverName: () => 'drm_mock_sched',
  getTimelineName: () => 'drm-mock-scheduler',
};

/** Options of `DrmMockScheduler`. */
export interface DrmMockSchedOptions {
  /** Job timeout in jiffies (default `MAX_SCHEDULE_TIMEOUT`). */
  timeout?: number;
  /** Default U32_MAX, as the KUnit mock. */
  creditLimit?: number;
  name?: string;
  policy?: DrmSchedPolicy;
  /** Passed to `DrmSchedInitArgs`. */
  reclaimTaint?: boolean;
  signallingAnnotations?: boolean;
  /** Passed to `DrmSchedInitArgs`. */
  compat?: DrmSchedCompat;
}

/**
 * `struct drm_mock_scheduler`: a trivial GPU that completes jobs strictly in
 * submission order, either when their duration elapses (virtual time) or
 * when `advance` moves its timeline.
 *
 * @kernel struct drm_mock_scheduler, drm_mock_sched_new
 */
export class DrmMockScheduler extends DrmGpuScheduler {
  /** Protects the timeline and the job list; also the hardware fences' lock. */
  readonly mockLock: SpinLock;
  /** Jobs submitted to the mock GPU and not completed, in order (insertion-ordered set: O(1) removal). */
  readonly jobList = new Set<DrmMockSchedJob>();
  private lastJob: DrmMockSchedJob | null = null;
  readonly hwTimeline: { context: number; nextSeqno: number; curSeqno: number };

  constructor(k: Kernel, opts: DrmMockSchedOptions = {}) {
    const ops: DrmSchedBackendOps<DrmMockSchedJob> = {
      runJob: (job) => this.runJobCb(job),
      timedoutJob: (job) => this.timedoutJobCb(job),
      freeJob: (job) => {
        // mock_sched_free_job: off the done list first, so a later advance never signals a freed fence.
        const fl = this.mockLock.lockIrqsave();
        this.unlist(job);
        this.mockLock.unlockIrqrestore(fl);
        job.hwFence?.put();
        job.cleanup();
      },
      cancelJob: (job) => {
        this.cancelJobCb(job);
      },
    };
    const args: DrmSchedInitArgs<DrmMockSchedJob> = {
      ops,
      creditLimit: opts.creditLimit ?? 0xffffffff,
      hangLimit: 1,
      timeout: opts.timeout ?? MAX_SCHEDULE_TIMEOUT,
      name: opts.name ?? 'drm-mock-scheduler',
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.reclaimTaint !== undefined ? { reclaimTaint: opts.reclaimTaint } : {}),
      ...(opts.signallingAnnotations !== undefined ? { signallingAnnotations: opts.signallingAnnotations } : {}),
      ...(opts.compat ? { compat: opts.compat } : {}),
    };
    super(k, args);
    this.mockLock = new SpinLock(k, '&sched->lock', { key: 'drm_mock_scheduler.lock' });
    this.hwTimeline = { context: dmaFenceContextAlloc(k, 1), nextSeqno: 0, curSeqno: 0 };
  }

  /** `drm_mock_sched_entity_new`: an entity of `priority` on this scheduler. */
  entityNew(priority: DrmSchedPriority = DrmSchedPriority.NORMAL, name?: string): DrmSchedEntity {
    const e = new DrmSchedEntity(this.kernel);
    const r = e.init(priority, [this], null, name);
    if (r) throw new Error(`drm_sched_entity_init failed: ${r}`);
    return e;
  }

  /** `drm_mock_sched_entity_free`: `drm_sched_entity_destroy`. Process context. */
  entityFree(entity: DrmSchedEntity): Promise<void> {
    return entity.destroy();
  }

  /** `drm_mock_sched_job_new`: a job with one credit on `entity`. Process context. */
  jobNew(entity: DrmSchedEntity, durationUs = 0): DrmMockSchedJob {
    const job = new DrmMockSchedJob(this.kernel);
    const r = job.init(entity, 1, null, 1);
    if (r) throw new Error(`drm_sched_job_init failed: ${r}`);
    job.durationUs = durationUs;
    // Not a _HARD hrtimer: threadable, like HRTIMER_MODE_ABS under PREEMPT_RT lockdep rules.
    job.timer = new HrTimer(this.kernel, () => (job.sched as DrmMockScheduler).signalTimer(), 'soft', 'mock_job');
    return job;
  }

  /** `drm_mock_sched_job_submit`: arm and push. */
  static submit(job: DrmSchedJob): void {
    job.arm();
    job.entity!.pushJob(job);
  }

  /** `drm_mock_sched_job_is_finished`. */
  static isFinished(job: DrmMockSchedJob): boolean {
    return (job.flags & DRM_MOCK_SCHED_JOB_DONE) !== 0;
  }

  /** `drm_mock_sched_job_wait_finished`: true if done within `timeoutJiffies`. Process context. */
  static async waitFinished(job: DrmMockSchedJob, timeoutJiffies: number): Promise<boolean> {
    if (job.flags & DRM_MOCK_SCHED_JOB_DONE) return true;
    return (await job.done.waitForCompletionTimeout(timeoutJiffies)) !== 0;
  }

  /** `drm_mock_sched_job_wait_scheduled`: true if `run_job` was called within `timeoutJiffies`. Process context. */
  static async waitScheduled(job: DrmMockSchedJob, timeoutJiffies: number): Promise<boolean> {
    if (job.flags & DRM_MOCK_SCHED_JOB_DONE) throw new Error('drm_mock_sched_job_wait_scheduled on a finished job');
    return (await job.scheduled.waitTimeout(false, timeoutJiffies)) !== 0;
  }

  /**
   * `drm_mock_sched_advance`: move the hardware timeline by `num` seqnos,
   * completing (in order) every job it passes. Returns how many completed.
   * Any context.
   */
  advance(num: number): number {
    wholeArg('DrmMockScheduler.advance(num)', 'num', num, '(unsigned int)', U32_MAX);
    let found = 0;
    const fl = this.mockLock.lockIrqsave();
    this.hwTimeline.curSeqno += num;
    for (const job of this.jobList) {
      if (this.hwTimeline.curSeqno < job.hwFence!.seqno) break;
      this.jobComplete(job);
      found++;
    }
    this.mockLock.unlockIrqrestore(fl);
    return found;
  }

  /** `drm_mock_sched_fini`. */
  override fini(): Promise<void> {
    return super.fini();
  }

  // ------------------------------------------------------------- backend

  /** `list_del(&job->link)`. */
  private unlist(job: DrmMockSchedJob): void {
    this.jobList.delete(job);
    if (this.lastJob === job) {
      this.lastJob = null;
      for (const j of this.jobList) this.lastJob = j;
    }
  }

  /** `drm_mock_sched_job_complete` (lock held). */
  private jobComplete(job: DrmMockSchedJob): void {
    job.flags |= DRM_MOCK_SCHED_JOB_DONE;
    this.unlist(job);
    job.hwFence!.signalLocked();
    job.done.complete();
  }

  /** `drm_mock_sched_job_signal_timer` (hardirq): complete every due job with a duration, in order. */
  /** @internal */
  signalTimer(): 'norestart' {
    const now = this.kernel.nowNs;
    const fl = this.mockLock.lockIrqsave();
    for (const job of this.jobList) {
      if (!job.durationUs || now < job.finishAtNs) break;
      this.hwTimeline.curSeqno = job.hwFence!.seqno;
      this.jobComplete(job);
    }
    this.mockLock.unlockIrqrestore(fl);
    return 'norestart';
  }

  /** `mock_sched_run_job`. */
  private runJobCb(job: DrmMockSchedJob): DmaFence {
    const k = this.kernel;
    job.hwFence = new DmaFence(k, hwFenceOps, this.mockLock, this.hwTimeline.context, ++this.hwTimeline.nextSeqno);
    job.hwFence.get(); // for the job list
    this.mockLock.lockIrq();
    if (job.durationUs) {
      const prevFinish = this.lastJob?.finishAtNs || k.nowNs;
      job.finishAtNs = prevFinish + job.durationUs * 1000;
    }
    this.jobList.add(job);
    this.lastJob = job;
    if (job.finishAtNs) job.timer!.start(Math.max(0, job.finishAtNs - k.nowNs));
    this.mockLock.unlockIrq();
    return job.hwFence;
  }

  /**
   * `mock_sched_timedout_job`: a DONT_RESET job keeps that flag (a control
   * flag: the handler may run again for the same job), gets RESET_SKIPPED
   * (a status flag) and the answer NO_HANG; any other job is force-completed
   * with -ETIMEDOUT and RESET. (Before the 2025 fix the mock cleared
   * DONT_RESET, so a second timeout of the same job reset it.)
   */
  private timedoutJobCb(job: DrmMockSchedJob): DrmGpuSchedStat {
    if (job.flags & DRM_MOCK_SCHED_JOB_DONT_RESET) {
      job.flags |= DRM_MOCK_SCHED_JOB_RESET_SKIPPED;
      return DrmGpuSchedStat.NO_HANG;
    }
    const fl = this.mockLock.lockIrqsave();
    const hw = job.hwFence!;
    if (!hw.isSignaledLocked()) {
      this.unlist(job);
      job.flags |= DRM_MOCK_SCHED_JOB_TIMEDOUT;
      hw.setError(-Errno.ETIMEDOUT);
      hw.signalLocked();
    }
    this.mockLock.unlockIrqrestore(fl);
    hw.put();
    job.cleanup();
    return DrmGpuSchedStat.RESET;
  }

  /** `mock_sched_cancel_job`: force-complete with -ECANCELED (the scheduler still calls free_job). */
  private cancelJobCb(job: DrmMockSchedJob): void {
    job.timer?.tryToCancel();
    const fl = this.mockLock.lockIrqsave();
    const hw = job.hwFence!;
    if (!hw.isSignaledLocked()) {
      this.unlist(job);
      hw.setError(-Errno.ECANCELED);
      hw.signalLocked();
    }
    this.mockLock.unlockIrqrestore(fl);
  }
}
