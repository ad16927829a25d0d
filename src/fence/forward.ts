/**
 * The bottom of the fence layer: the forward declaration of `DmaFence`
 * (the kernel's `struct dma_fence;`), so that the files the class is built
 * from (callbacks, ops, ordering, release, rules, waits, the per-kernel
 * state) can name the fence type without importing fence.ts, which imports
 * them. fence.ts completes this interface with the class's members by
 * declaration merging (`interface DmaFence extends DmaFenceClass`), so the
 * type is the full class everywhere; only the import graph changes.
 */

/**
 * `struct dma_fence`, as the files below fence.ts see it: the `DmaFence`
 * class (fence.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by fence.ts (see above)
export interface DmaFence {}
