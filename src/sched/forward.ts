/**
 * The bottom of this folder: forward declarations of its central classes
 * (the C header's `struct foo;`), so that the files a class is built from
 * can name its type without importing the class's file, which imports them.
 * Each class's file completes its declaration here with the class's members
 * by declaration merging (`interface Foo extends FooClass`), so the type is
 * the full class everywhere; only the import graph changes.
 */

/**
 * `struct drm_gpu_scheduler`: the `DrmGpuScheduler` class, as the files below scheduler.ts see it
 * (scheduler.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by scheduler.ts (see above)
export interface DrmGpuScheduler {}

/**
 * `struct drm_sched_entity`: the `DrmSchedEntity` class, as the files below entity.ts see it
 * (entity.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by entity.ts (see above)
export interface DrmSchedEntity {}

/**
 * `struct drm_sched_job`: the `DrmSchedJob` class, as the files below job.ts see it
 * (job.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by job.ts (see above)
export interface DrmSchedJob {}
