/**
 * Event types that only real kernel traces carry (the model has no
 * counterpart): amdgpu's companion events and the ring buffer's overflow
 * markers. They join the typed event stream like the model's own.
 *
 * @kernel drivers/gpu/drm/amd/amdgpu/amdgpu_trace.h, kernel/trace/ring_buffer.c
 */
declare module '../../kernel/events.ts' {
  interface KernelEventMap {
    /** `amdgpu_cs_ioctl`: a submission; `fence` is the job's finished fence `context:seqno`. */
    'amdgpu-cs-ioctl': { ring: string; timeline: string; fence: string; numIbs: number };
    /** `amdgpu_sched_run_job`: amdgpu's run_job for that job. */
    'amdgpu-sched-run-job': { ring: string; timeline: string; fence: string; numIbs: number };
    /** `amdgpu_ib_pipe_sync`: the job on `ring` needs a pipe sync to `fence`. */
    'amdgpu-ib-pipe-sync': { ring: string; fence: string };
    /** `[LOST N EVENTS]` / `[N EVENTS DROPPED]`: a gap in the trace on `cpu`. */
    'trace-lost': { cpu: number; lost: number };
  }
}

export {};
