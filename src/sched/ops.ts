import { LdWait, LockdepMap } from '../kernel/index.ts';
import type { Kernel, WorkqueueStruct } from '../kernel/index.ts';
import type { DmaFence } from '../fence/index.ts';
import type { DrmSchedEntity } from './forward.ts';
import type { DrmSchedJob } from './job.ts';
import type { Awaitable } from '../kernel/index.ts';
import type { DrmGpuSchedStat, DrmSchedPolicy } from './types.ts';

/**
 * `struct drm_sched_backend_ops`: the driver's callbacks. Everything here
 * except `cancelJob` runs in the fence signalling critical path: no
 * reclaiming allocation, no dma_resv lock, no lock held elsewhere around a
 * fence wait or an allocation, no runtime-PM resume (see the reference
 * notes, section 2.1).
 *
 * @kernel struct drm_sched_backend_ops
 */
export interface DrmSchedBackendOps<J extends DrmSchedJob = DrmSchedJob> {
  /** `prepare_job`: one more fence to wait for before running, or null; polled until null. Run worker. */
  prepareJob?(job: J, entity: DrmSchedEntity): Awaitable<DmaFence | null>;
  /**
   * `run_job`: hand the job to the hardware. Returns the hardware fence (a
   * reference owned by the scheduler), null (nothing to wait for / skipped:
   * check `job.finished.error`), or a negative errno (`ERR_PTR`). Run worker.
   */
  runJob(job: J): Awaitable<DmaFence | null | number>;
  /** `timedout_job`: `RESET`, `ENODEV` or `NO_HANG`. Timeout workqueue. */
  timedoutJob(job: J): Awaitable<DrmGpuSchedStat>;
  /** `free_job`: `job.cleanup()` and drop driver references. Free worker (same queue as run). */
  freeJob(job: J): Awaitable<void>;
  /** `cancel_job`: from `fini` only; signal the hardware fence with an error, do not free. */
  cancelJob?(job: J): Awaitable<void>;
}

/** A shared load counter (`atomic_t *score`). */
export interface DrmSchedScore {
  value: number;
}

/**
 * `struct drm_sched_init_args`, plus the model's options.
 *
 * @kernel struct drm_sched_init_args
 */
export interface DrmSchedInitArgs<J extends DrmSchedJob = DrmSchedJob> {
  ops: DrmSchedBackendOps<J>;
  /** Driver-provided submit queue; default an ordered `WQ_MEM_RECLAIM` queue owned by the scheduler. */
  submitWq?: WorkqueueStruct | null;
  /** Driver-provided timeout queue; default the system queue. */
  timeoutWq?: WorkqueueStruct | null;
  /** Flow-control limit (`credit_limit`). */
  creditLimit: number;
  /** Deprecated; 0. */
  hangLimit?: number;
  /** Job timeout in jiffies; `MAX_SCHEDULE_TIMEOUT` (default) disables it. */
  timeout?: number;
  /** Shared score; default the scheduler's own. */
  score?: DrmSchedScore | null;
  name: string;
  dev?: unknown;
  /** Selection policy (model option): `fair` (default, current upstream), `fifo` or `rr` (legacy, one run queue per priority). */
  policy?: DrmSchedPolicy;
  /**
   * Model option (Matthew Brost's Oct 2025 RFC, default on): taint the submit
   * queue, and a driver-provided timeout queue, with reclaim, so any
   * reclaiming allocation in their work items closes a lockdep cycle.
   */
  reclaimTaint?: boolean;
  /**
   * Model option (default on): run `prepare_job`, `run_job` and `free_job`
   * inside a fence signalling section (`dma_fence_begin_signalling`, as in
   * Daniel Vetter's unmerged annotation of the scheduler), so an allocation
   * or a lock taken there that is held elsewhere around a fence wait is a
   * `lockdep.circular` through `dma_fence_map`. `timedout_job` is not
   * annotated: recovery stops the scheduler's own work items, which such an
   * annotation would report.
   */
  signallingAnnotations?: boolean;
  /**
   * Model option: scheduler behaviours that changed across kernel versions
   * and that a driver's correctness can depend on, each named after the
   * version range that had it; the default is the current kernel's.
   */
  compat?: DrmSchedCompat;
}

/**
 * Version switches of the scheduler core (see `DrmSchedInitArgs.compat`).
 */
export interface DrmSchedCompat {
  /**
   * When a job's dependency fences are released:
   * - `'v6.5+'` (default): kept in `job->dependencies` until
   *   `drm_sched_job_cleanup` (from `free_job`); the entity only borrows a
   *   reference while it waits (`drm_sched_job_dependency` does `xa_load`,
   *   commit e30cb0599799 "Make sure we wait for all dependencies in
   *   kill_jobs_cb()", v6.5, also in 6.4 stable);
   * - `'v5.16-v6.4'`: removed from `job->dependencies` as the entity consumes
   *   them (`xa_erase`); the reference moves to `entity->dependency` and is
   *   dropped as soon as the fence is found signalled or its callback ran,
   *   before `run_job`. A driver that looks at its job's dependencies in
   *   `run_job` (or keeps one without its own reference) sees them gone, or
   *   freed, on those kernels.
   */
  dependencyRelease?: 'v5.16-v6.4' | 'v6.5+';
  /**
   * Where a killed entity's jobs wait for their remaining dependencies:
   * - `'v6.18+'` (default): the fence callback only schedules a work item,
   *   which adds the next dependency's callback (487df8b69834 "Fix deadlock
   *   in drm_sched_entity_kill_jobs_cb", v6.18-rc, also in stable);
   * - `'v6.2-v6.17'`: `drm_sched_entity_kill_jobs_cb` adds the next
   *   dependency's callback itself, inside the callback of the fence that
   *   just signalled, with that fence's lock held and IRQs off. A driver
   *   whose fences share one lock (one lock per engine, as xe and others
   *   do) then self-deadlocks when a killed job depends on two of them.
   */
  killJobsCb?: 'v6.2-v6.17' | 'v6.18+';
}

const schedMaps = new WeakMap<Kernel, LockdepMap>();

/** `drm_sched_lockdep_map`: the one lockdep class of every scheduler-owned submit queue. @kernel drm_sched_lockdep_map */
export function drmSchedLockdepMap(k: Kernel): LockdepMap {
  let m = schedMaps.get(k);
  if (!m) schedMaps.set(k, (m = new LockdepMap('drm_sched_lockdep_map', 'drm_sched_lockdep_map', LdWait.INV)));
  return m;
}
