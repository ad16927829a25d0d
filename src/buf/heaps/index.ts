/**
 * dma-buf heaps over simulated RAM: the buddy page allocator with PFNs,
 * page pools, VMAs with page tables and `remap_pfn_range`, vmap, and the
 * system heap (orders 8/4/0, chunked mmap, per-page mmap for comparison).
 * A dma_buf wrapper forwards its exporter ops to `SystemHeapBuffer` (its doc
 * comment lists the calls).
 */
export * from './gfp.ts';
export * from './page-alloc.ts';
export * from './page-pool.ts';
export * from './vma.ts';
export * from './system-heap-buffer.ts';
export * from './system-heap.ts';
