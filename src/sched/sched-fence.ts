import { DmaFence, DmaFenceFlag, dmaFencePublish } from '../fence/index.ts';
import type { DmaFenceOps } from '../fence/index.ts';
import { SpinLock } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import type { DrmGpuScheduler } from './forward.ts';

/**
 * `DRM_SCHED_FENCE_DONT_PIPELINE`: a flag bit on a scheduler fence that
 * forbids the same-scheduler "wait only for scheduled" optimisation.
 * `DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT` marks a remembered deadline.
 *
 * @kernel DRM_SCHED_FENCE_DONT_PIPELINE, DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT (include/drm/gpu_scheduler.h)
 */
export const DRM_SCHED_FENCE_DONT_PIPELINE = 1 << DmaFenceFlag.USER_BITS;
export const DRM_SCHED_FENCE_FLAG_HAS_DEADLINE = 1 << (DmaFenceFlag.USER_BITS + 1);

/**
 * A scheduled or finished fence: a `DmaFence` that knows its `DrmSchedFence`.
 * Not declared `inOrder` to the fence checker: an entity's fences signal in
 * order while the scheduler runs, but teardown (`drm_sched_fini` cancelling
 * newest first) completes them out of order, as in the kernel.
 *
 * @kernel struct drm_sched_fence (its scheduled and finished fences)
 */
export class DrmSchedDmaFence extends DmaFence {
  constructor(
    k: Kernel,
    ops: DmaFenceOps<DrmSchedDmaFence>,
    lock: SpinLock,
    context: number,
    seqno: number,
    readonly sFence: DrmSchedFence,
  ) {
    // The names read `sFence`: initialise once the field is set.
    super(k, ops, lock, context, seqno, 0, false);
    this.init(ops, lock, context, seqno, 0);
  }
}

/** Who is to signal a scheduler fence: the scheduler, through the job's state. */
function describeSchedSignaller(f: DrmSchedDmaFence): string {
  const s = f.sFence;
  const sched = s.sched?.name ?? '?';
  const parent = s.parent;
  let state: string;
  if (parent) state = `running: hardware fence ${parent.context}:${parent.seqno} ${parent.signalled ? 'signalled' : 'not signalled'}`;
  else if (s.scheduledFence?.signalled) state = 'run_job called, no hardware fence';
  else state = 'queued on its entity, run_job not called yet (dependencies, credits or a stopped scheduler)';
  return `drm_sched ${sched}, job fence ${s.finishedFence?.context ?? '?'}:${s.finishedFence?.seqno ?? '?'} (${state})`;
}

const scheduledOps: DmaFenceOps<DrmSchedDmaFence> = {
  getDriverName: () => 'drm_sched',
  getTimelineName: (f) => f.sFence.sched?.name ?? 'drm_sched',
  describeSignaller: describeSchedSignaller,
  // Releasing `scheduled` drops the parent and frees the object (after RCU in the kernel).
  release: (f) => {
    const s = f.sFence;
    const parent = s.parent;
    s.parent = null;
    parent?.put();
  },
};

const finishedOps: DmaFenceOps<DrmSchedDmaFence> = {
  getDriverName: () => 'drm_sched',
  getTimelineName: (f) => f.sFence.sched?.name ?? 'drm_sched',
  describeSignaller: describeSchedSignaller,
  // Dropping `finished` drops its reference on `scheduled`.
  release: (f) => {
    f.sFence.scheduledFence?.put();
  },
  setDeadline: (f, deadlineNs) => {
    f.sFence.setDeadline(deadlineNs);
  },
};

/**
 * `struct drm_sched_fence`: the `scheduled` and `finished` fences of one job
 * plus the hardware (`parent`) fence. Allocated by `drm_sched_job_init`; the
 * two dma_fences are initialised at arm (they get their context and seqno
 * there), so reading them before arm is a usage error.
 *
 * @kernel struct drm_sched_fence, drm_sched_fence_alloc, drm_sched_fence_init (sched_fence.c)
 */
export class DrmSchedFence {
  /** Set at arm. */
  sched: DrmGpuScheduler | null = null;
  /** The hardware fence returned by `run_job` (the scheduler's own reference). */
  parent: DmaFence | null = null;
  /** Earliest deadline set on `finished`, ns (valid with the HAS_DEADLINE flag). */
  deadlineNs = 0;
  /** @internal */
  scheduledFence: DrmSchedDmaFence | null = null;
  /** @internal */
  finishedFence: DrmSchedDmaFence | null = null;
  /** One lock for both fences (`fence->lock`). */
  readonly lock: SpinLock;

  constructor(
    readonly kernel: Kernel,
    /** `owner`: the submitter's cookie (tracing only). */
    readonly owner: unknown,
    /** `drm_client_id` (tracing only). */
    readonly clientId: number,
  ) {
    this.lock = new SpinLock(kernel, '&fence->lock', { key: 'drm_sched_fence.lock' });
  }

  /** True once `drm_sched_fence_init` ran (the job was armed). */
  get armed(): boolean {
    return this.finishedFence !== null;
  }

  /** `s_fence->scheduled`: signalled when `run_job` was called. Only after arm. */
  get scheduled(): DrmSchedDmaFence {
    if (!this.scheduledFence) throw new Error('drm_sched_fence.scheduled read before drm_sched_job_arm(): arm the job first');
    return this.scheduledFence;
  }

  /** `s_fence->finished`: signalled when the job is done (or skipped / killed). Only after arm. */
  get finished(): DrmSchedDmaFence {
    if (!this.finishedFence) throw new Error('drm_sched_fence.finished read before drm_sched_job_arm(): arm the job first');
    return this.finishedFence;
  }

  /**
   * `drm_sched_fence_init`: give both fences the entity's contexts and the
   * next seqno. From here the finished fence may be published, so it is
   * registered with the indefinite-fence check: if it never signals (an armed
   * job that is never pushed) the end of the run reports it.
   */
  init(sched: DrmGpuScheduler, context: number, seqno: number): void {
    this.sched = sched;
    const k = this.kernel;
    this.scheduledFence = new DrmSchedDmaFence(k, scheduledOps, this.lock, context, seqno, this);
    this.finishedFence = new DrmSchedDmaFence(k, finishedOps, this.lock, context + 1, seqno, this);
    dmaFencePublish(this.finishedFence);
  }

  /**
   * `drm_sched_fence_scheduled`: store the hardware fence (own reference,
   * forwarding a remembered deadline) and signal `scheduled`. Called from the
   * run worker after `run_job`, or with null for killed jobs.
   */
  fenceScheduled(parent: DmaFence | null): void {
    if (parent) {
      this.parent = parent.get();
      if ((this.finished.flags & DRM_SCHED_FENCE_FLAG_HAS_DEADLINE) !== 0) parent.setDeadline(this.deadlineNs);
    }
    this.scheduled.signal();
  }

  /**
   * `drm_sched_fence_finished`: a non-zero `result` becomes the error (an
   * error already set, e.g. -ECANCELED for a guilty entity, stays when
   * `result` is 0), then signal `finished`.
   */
  fenceFinished(result: number): void {
    const f = this.finished;
    if (result !== 0) f.setError(result);
    f.signal();
  }

  /**
   * `drm_sched_fence_set_deadline_finished`: remember the earliest deadline
   * and forward it to the parent once there is one.
   */
  setDeadline(deadlineNs: number): void {
    const f = this.finished;
    if ((f.flags & DRM_SCHED_FENCE_FLAG_HAS_DEADLINE) !== 0 && this.deadlineNs <= deadlineNs) return;
    this.deadlineNs = deadlineNs;
    f.flags |= DRM_SCHED_FENCE_FLAG_HAS_DEADLINE;
    this.parent?.setDeadline(deadlineNs);
  }
}

/**
 * `to_drm_sched_fence`: the scheduler fence behind a scheduled or finished
 * fence, or null for any other fence.
 *
 * @kernel to_drm_sched_fence
 */
export function toDrmSchedFence(f: DmaFence): DrmSchedFence | null {
  return f instanceof DrmSchedDmaFence && (f.ops === (scheduledOps as unknown) || f.ops === (finishedOps as unknown)) ? f.sFence : null;
}

/**
 * True if `f` is the `scheduled` fence of its scheduler fence.
 *
 * @kernel dma_fence.ops == &drm_sched_fence_ops_scheduled (to_drm_sched_fence's test)
 */
export function isScheduledFence(f: DmaFence): boolean {
  return f.ops === (scheduledOps as unknown);
}
