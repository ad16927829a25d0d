/**
 * The fence layer's events on the kernel's typed event stream (the role of
 * the kernel's `dma_fence_*` tracepoints). `fence` is a per-kernel id given
 * to a fence the first time an event names it; `context:seqno` is not unique
 * (stubs, reused sw_sync points, chain contexts).
 *
 * @kernel include/trace/events/dma_fence.h
 */
declare module '../kernel/events.ts' {
  interface KernelEventMap {
    /** `trace_dma_fence_init`. */
    'fence-init': {
      fence: number;
      context: number;
      seqno: number;
      driver: string;
      timeline: string;
    };
    /** `trace_dma_fence_enable_signal`: the driver's enable_signaling op is about to run. */
    'fence-enable-signal': { fence: number; context: number; seqno: number };
    /** `trace_dma_fence_signaled`: emitted before the callbacks run. */
    'fence-signal': {
      fence: number;
      context: number;
      seqno: number;
      error: number;
      timestampNs: number;
      callbacks: number;
    };
    /** One callback invoked by a signal, in list order. */
    'fence-callback': { fence: number; context: number; seqno: number; index: number };
    /** `trace_dma_fence_wait_start`. `timeout` in jiffies, null for MAX_SCHEDULE_TIMEOUT. */
    'fence-wait-start': {
      fence: number;
      context: number;
      seqno: number;
      thread: string;
      timeout: number | null;
    };
    /** `trace_dma_fence_wait_end` with the wait's result (negative errno, 0 timeout, remaining jiffies; null for MAX_SCHEDULE_TIMEOUT). */
    'fence-wait-end': {
      fence: number;
      context: number;
      seqno: number;
      thread: string;
      result: number | null;
    };
    /** `trace_dma_fence_destroy`: the last reference was dropped. */
    'fence-destroy': { fence: number; context: number; seqno: number; signalled: boolean };
  }
}

export {};
