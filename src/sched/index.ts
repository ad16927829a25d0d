/**
 * drm_sched: the DRM GPU scheduler (scheduler, run queues and policies,
 * entities, jobs, scheduler fences, dependencies, timeouts and recovery,
 * teardown) and a KUnit-style mock GPU for tests.
 */
export * from './types.ts';
export * from './events.ts';
export { SpscQueue } from './queue.ts';
export { DrmSchedRq, DrmSchedEntityStats, FAIR_SHIFT } from './rq.ts';
export {
  DrmSchedFence,
  DrmSchedDmaFence,
  toDrmSchedFence,
  isScheduledFence,
  DRM_SCHED_FENCE_DONT_PIPELINE,
  DRM_SCHED_FENCE_FLAG_HAS_DEADLINE,
} from './sched-fence.ts';
export { DrmSchedJob, DrmSchedJobCb } from './job.ts';
export type { HasResv } from './job.ts';
export { DrmSchedEntity, drmSchedEntityPushJob } from './entity.ts';
export type { GuiltyFlag } from './entity.ts';
export { DrmGpuScheduler, drmSchedPickBest, drmSchedLockdepMap } from './scheduler.ts';
export type { DrmSchedBackendOps, DrmSchedCompat, DrmSchedInitArgs, DrmSchedScore } from './scheduler.ts';
export { drmSchedInvalidateJob } from './tdr.ts';
export { SCHED_RULES } from './rules.ts';
export { SCHED_EVENT_RULES, schedJobRule } from './event-rules.ts';
export * from './mock.ts';
