/**
 * drm_sched events on the kernel's typed event stream (the role of the
 * kernel's `drm_sched_job_*` tracepoints). `fence` is `context:seqno` of the
 * job's finished fence.
 *
 * @kernel drivers/gpu/drm/scheduler/gpu_scheduler_trace.h
 */
declare module '../kernel/events.ts' {
  interface KernelEventMap {
    /**
     * `trace_drm_sched_job_queue`: pushed to its entity. `dev` is the
     * device name, `jobCount` the entity's queued jobs before this one,
     * `hwJobCount` the scheduler's in-flight credits, `clientId` the DRM
     * client (6.17 layout).
     */
    'sched-job-queue': {
      sched: string;
      entity: string;
      job: number;
      fence: string;
      dev: string;
      jobCount: number;
      hwJobCount: number;
      clientId: number;
    };
    /**
     * `trace_drm_sched_job_add_dep`: right after `queue`, once per stored
     * dependency; `depContext:depSeqno` is the dependency fence.
     */
    'sched-job-add-dep': {
      sched: string;
      job: number;
      fence: string;
      depContext: number;
      depSeqno: number;
    };
    /**
     * `trace_drm_sched_job_unschedulable`: the scheduler found the job's
     * dependency unsignalled and installed a wake-up callback (the fence
     * printed may be the other job's *scheduled* fence).
     */
    'sched-job-unschedulable': {
      sched: string;
      job: number;
      fence: string;
      depContext: number;
      depSeqno: number;
    };
    /** `trace_drm_sched_job_run`: handed to `run_job` (counts as for `queue`, at run time). */
    'sched-job-run': {
      sched: string;
      job: number;
      fence: string;
      credits: number;
      dev: string;
      jobCount: number;
      hwJobCount: number;
      clientId: number;
    };
    /** `trace_drm_sched_job_done`: the finished fence signals (`result` is the error or 0). */
    'sched-job-done': { sched: string; job: number; fence: string; result: number };
    /** The free worker hands the job to `free_job`. */
    'sched-job-free': { sched: string; job: number; fence: string };
    /** The timeout handler runs for a job. */
    'sched-job-timeout': { sched: string; job: number; fence: string; status: number };
  }
}

export {};
