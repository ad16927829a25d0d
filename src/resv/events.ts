/**
 * The resv layer's events on the kernel's event stream. `resv` is the
 * object's name (per-kernel ids, so streams replay).
 *
 * @kernel no tracepoints exist for dma_resv; these make traces and replays readable
 */
declare module '../kernel/events.ts' {
  interface KernelEventMap {
    /** `dma_resv_add_fence`: the slot used and whether an entry was replaced in place. */
    'resv-add-fence': {
      resv: string;
      context: number;
      seqno: number;
      usage: number;
      index: number;
      replaced: boolean;
    };
    /** `dma_resv_reserve_fences` published a new table (`dropped` signalled fences compacted away). */
    'resv-reserve': { resv: string; num: number; max: number; dropped: number };
    /** An unlocked iteration restarted because the table changed under it. */
    'resv-iter-restart': { resv: string; index: number };
  }
}

export {};
