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
      /** Seqnos compare as plain 64-bit numbers (`dma_fence_init64`); else the 32-bit wrap rule. */
      seqno64: boolean;
      /** The context signals in seqno order (checked by `fence.context_out_of_order`). */
      inOrder: boolean;
    };
    /** `trace_dma_fence_emit`: handed to the hardware (msm, virtio_gpu, nouveau, qxl; real traces only). */
    'fence-emit': { fence: number; context: number; seqno: number };
    /**
     * The driver's cached completed seqno of a context (a hardware ring's
     * seqno location as the driver reads it, a sw_sync timeline's value).
     * No tracepoint: the model's drivers report it so the rule book can
     * place the context's position (`fence.completed_seqno_backwards`).
     */
    'fence-completed': { context: number; seqno: number; seqno64: boolean; timeline: string };
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
    'fence-destroy': {
      fence: number;
      context: number;
      seqno: number;
      signalled: boolean;
      /** Callbacks still queued on the unsignalled fence (release will WARN and signal it); null when unknown (traces). */
      pendingCallbacks: boolean | null;
    };
  }
}

export {};
