/**
 * drm_sched events on the kernel's typed event stream (the role of the
 * kernel's `drm_sched_job_*` tracepoints). `fence` is `context:seqno` of the
 * job's finished fence.
 *
 * @kernel drivers/gpu/drm/scheduler/gpu_scheduler_trace.h
 */
declare module '../kernel/events.ts' {
  interface KernelEventMap {
    /** `trace_drm_sched_job_queue`: pushed to its entity. */
    'sched-job-queue': { sched: string; entity: string; job: number; fence: string };
    /** `trace_drm_sched_job_run`: handed to `run_job`. */
    'sched-job-run': { sched: string; job: number; fence: string; credits: number };
    /** `trace_drm_sched_job_done`: the finished fence signals (`result` is the error or 0). */
    'sched-job-done': { sched: string; job: number; fence: string; result: number };
    /** The free worker hands the job to `free_job`. */
    'sched-job-free': { sched: string; job: number; fence: string };
    /** The timeout handler runs for a job. */
    'sched-job-timeout': { sched: string; job: number; fence: string; status: number };
  }
}

export {};
