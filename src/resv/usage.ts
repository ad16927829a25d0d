/**
 * How a fence in a reservation object uses the buffer. Lower values are
 * stronger, and a query for a class returns every fence of that class and of
 * every stronger one: asking for WRITE also yields KERNEL fences, BOOKKEEP
 * yields everything.
 *
 * @kernel enum dma_resv_usage (include/linux/dma-resv.h)
 */
export const DmaResvUsage = {
  /** Kernel memory management (moves, clears): everyone waits for these. */
  KERNEL: 0,
  /** Implicit-sync writes. */
  WRITE: 1,
  /** Implicit-sync reads. */
  READ: 2,
  /** No implicit sync (preemption fences, page-table updates, explicit sync). */
  BOOKKEEP: 3,
} as const;

export type DmaResvUsage = (typeof DmaResvUsage)[keyof typeof DmaResvUsage];

const NAMES = ['kernel', 'write', 'read', 'bookkeep'] as const;

/**
 * Lower-case name of a usage class, as `dma_resv_describe` prints it.
 *
 * @kernel usage[] in dma_resv_describe (drivers/dma-buf/dma-resv.c)
 */
export function dmaResvUsageName(usage: DmaResvUsage): (typeof NAMES)[number] {
  return NAMES[usage];
}

/**
 * `dma_resv_usage_rw(write)`: the usage to wait for before an access. A new
 * writer waits for readers and writers (READ); a new reader only for
 * writers (WRITE). Any context.
 *
 * @kernel dma_resv_usage_rw
 */
export function dmaResvUsageRw(write: boolean): DmaResvUsage {
  // The inversion is intentional: a writer must wait for every reader.
  return write ? DmaResvUsage.READ : DmaResvUsage.WRITE;
}

/**
 * Throws if `u` is not one of the four usage classes (library misuse).
 *
 * @kernel none: argument check of the library (the kernel's compiler checks enum dma_resv_usage)
 */
export function checkUsage(u: number, op: string): asserts u is DmaResvUsage {
  if (u !== 0 && u !== 1 && u !== 2 && u !== 3) {
    throw new Error(
      `${op}: usage ${String(u)} is not a DmaResvUsage (KERNEL=0, WRITE=1, READ=2, BOOKKEEP=3)`,
    );
  }
}
