/**
 * Enumerations and small helpers shared by the drm_sched model.
 */

/**
 * Entity priorities; a smaller value is more important (the order used since
 * ~6.8: KERNEL < HIGH < NORMAL < LOW).
 *
 * @kernel enum drm_sched_priority (include/drm/gpu_scheduler.h)
 */
export const DrmSchedPriority = {
  KERNEL: 0,
  HIGH: 1,
  NORMAL: 2,
  LOW: 3,
} as const;
export type DrmSchedPriority = (typeof DrmSchedPriority)[keyof typeof DrmSchedPriority];

/** `DRM_SCHED_PRIORITY_COUNT`. */
export const DRM_SCHED_PRIORITY_COUNT = 4;

/**
 * Name of a priority, for reports.
 *
 * @kernel none: report text for enum drm_sched_priority
 */
export function drmSchedPriorityName(p: DrmSchedPriority): string {
  return (['KERNEL', 'HIGH', 'NORMAL', 'LOW'] as const)[p];
}

/**
 * What `timedout_job` returns.
 *
 * @kernel enum drm_gpu_sched_stat
 */
export const DrmGpuSchedStat = {
  /** Reserved; never a valid answer. */
  NONE: 0,
  /** The GPU hung and was reset / the job was dealt with (formerly NOMINAL). */
  RESET: 1,
  /** The device is gone; the timeout is not re-armed. */
  ENODEV: 2,
  /** False alarm: the job is still progressing; the scheduler re-inserts it. */
  NO_HANG: 3,
} as const;
export type DrmGpuSchedStat = (typeof DrmGpuSchedStat)[keyof typeof DrmGpuSchedStat];

/**
 * Entity selection policy. `fair` is the current upstream design (one run
 * queue, CFS-like virtual runtime); `fifo` and `rr` are the legacy policies
 * with one run queue per priority.
 *
 * @kernel drm_sched_policy (module parameter, legacy), DRM_SCHED_POLICY_FAIR
 */
export type DrmSchedPolicy = 'fair' | 'fifo' | 'rr';


/** `MAX_WAIT_SCHED_ENTITY_Q_EMPTY`: how long `drm_sched_entity_destroy` waits (1000 ms, in ms). */
export const MAX_WAIT_SCHED_ENTITY_Q_EMPTY_MS = 1000;

/**
 * `DECLARE_EWMA(name, 6, 4)`: exponentially weighted moving average with 6
 * fractional bits and weight 1/4. The first sample initialises it.
 *
 * @kernel DECLARE_EWMA (include/linux/average.h)
 */
export class Ewma {
  private internal = 0;

  add(sample: number): void {
    const v = Math.max(0, Math.floor(sample));
    this.internal = this.internal ? Math.floor((this.internal * 4 - this.internal + v * 64) / 4) : v * 64;
  }

  read(): number {
    return Math.floor(this.internal / 64);
  }
}
