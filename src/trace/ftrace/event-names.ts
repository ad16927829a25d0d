/**
 * The event names trace-check reads, in every kernel generation, each with
 * its kind (`K`) and family (the summary's `dma_fence`, `gpu_scheduler 6.17`,
 * ... counts), and the table a record's name is found in. Data only, at
 * the bottom: the normaliser compares a record's name with the few names
 * of its length (`BY_LENGTH`) in place and dispatches on the kind.
 *
 * @kernel include/trace/events/dma_fence.h, drivers/gpu/drm/scheduler/gpu_scheduler_trace.h,
 *         drivers/gpu/drm/amd/amdgpu/amdgpu_trace.h
 */

/**
 * Event kinds trace-check reads. Ranges matter: fence kinds are below
 * `JOB_QUEUE`, scheduler kinds below `AMDGPU_CS`.
 *
 * @kernel none: the normaliser's numbering of the events above
 */
export const K = {
  FENCE_INIT: 1,
  FENCE_EMIT: 2,
  FENCE_ENABLE: 3,
  FENCE_SIGNAL: 4,
  FENCE_WAIT_START: 5,
  FENCE_WAIT_END: 6,
  FENCE_DESTROY: 7,
  JOB_QUEUE: 10,
  JOB_RUN: 11,
  JOB_DONE: 12,
  JOB_ADD_DEP: 13,
  JOB_UNSCHEDULABLE: 14,
  LEGACY_QUEUE: 20,
  LEGACY_RUN: 21,
  LEGACY_DONE: 22,
  LEGACY_WAIT_DEP: 23,
  AMDGPU_CS: 30,
  AMDGPU_RUN: 31,
  AMDGPU_PIPE_SYNC: 32,
} as const;

const NAMES: readonly (readonly [string, number, string])[] = [
  ['dma_fence_init', K.FENCE_INIT, 'dma_fence'],
  ['dma_fence_emit', K.FENCE_EMIT, 'dma_fence'],
  ['dma_fence_enable_signal', K.FENCE_ENABLE, 'dma_fence'],
  ['dma_fence_signaled', K.FENCE_SIGNAL, 'dma_fence'],
  ['dma_fence_wait_start', K.FENCE_WAIT_START, 'dma_fence'],
  ['dma_fence_wait_end', K.FENCE_WAIT_END, 'dma_fence'],
  ['dma_fence_destroy', K.FENCE_DESTROY, 'dma_fence'],
  // Before 4.10 the system was `fence`.
  ['fence_init', K.FENCE_INIT, 'dma_fence (pre-4.10 names)'],
  ['fence_emit', K.FENCE_EMIT, 'dma_fence (pre-4.10 names)'],
  ['fence_enable_signal', K.FENCE_ENABLE, 'dma_fence (pre-4.10 names)'],
  ['fence_signaled', K.FENCE_SIGNAL, 'dma_fence (pre-4.10 names)'],
  ['fence_wait_start', K.FENCE_WAIT_START, 'dma_fence (pre-4.10 names)'],
  ['fence_wait_end', K.FENCE_WAIT_END, 'dma_fence (pre-4.10 names)'],
  ['fence_destroy', K.FENCE_DESTROY, 'dma_fence (pre-4.10 names)'],
  ['drm_sched_job_queue', K.JOB_QUEUE, 'gpu_scheduler 6.17'],
  ['drm_sched_job_run', K.JOB_RUN, 'gpu_scheduler 6.17'],
  ['drm_sched_job_done', K.JOB_DONE, 'gpu_scheduler 6.17'],
  ['drm_sched_job_add_dep', K.JOB_ADD_DEP, 'gpu_scheduler 6.17'],
  ['drm_sched_job_unschedulable', K.JOB_UNSCHEDULABLE, 'gpu_scheduler 6.17'],
  ['drm_sched_job', K.LEGACY_QUEUE, 'gpu_scheduler legacy'],
  ['drm_run_job', K.LEGACY_RUN, 'gpu_scheduler legacy'],
  ['drm_sched_process_job', K.LEGACY_DONE, 'gpu_scheduler legacy'],
  ['drm_sched_job_wait_dep', K.LEGACY_WAIT_DEP, 'gpu_scheduler legacy'],
  ['amd_sched_job', K.LEGACY_QUEUE, 'gpu_sched (<= 4.14)'],
  ['amd_sched_process_job', K.LEGACY_DONE, 'gpu_sched (<= 4.14)'],
  ['amdgpu_cs_ioctl', K.AMDGPU_CS, 'amdgpu'],
  ['amdgpu_sched_run_job', K.AMDGPU_RUN, 'amdgpu'],
  ['amdgpu_ib_pipe_sync', K.AMDGPU_PIPE_SYNC, 'amdgpu'],
];

/**
 * An event name trace-check reads: its kind and the index of its family in `FAMILIES`.
 *
 * @kernel none: an entry of the name table above
 */
export interface Known {
  readonly name: string;
  /** The name's bytes (ASCII), for `recordBytes`. */
  readonly bytes: DataView;
  readonly kind: number;
  readonly family: number;
}

/**
 * The event families, in `NAMES` order.
 *
 * @kernel none: the summary's grouping of the names above
 */
export const FAMILIES: string[] = [];

/**
 * Candidates by name length: a record's kind is found without cutting its
 * name out (the caller compares the few names of its length in place).
 *
 * @kernel none: the name look-up's table
 */
export const BY_LENGTH: Known[][] = [];
for (const [name, kind, family] of NAMES) {
  let f = FAMILIES.indexOf(family);
  if (f < 0) f = FAMILIES.push(family) - 1;
  (BY_LENGTH[name.length] ??= []).push({
    name,
    bytes: new DataView(new TextEncoder().encode(name).buffer),
    kind,
    family: f,
  });
}
