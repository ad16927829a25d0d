/**
 * Buffer sharing: scatter tables and physical address lists (with their
 * DMA mapping through the PCI model), heaps; dma_buf, attachments and
 * mapping types are added by their own files.
 */
export * from './sg-table.ts';
export * from './phys-vec.ts';
export * from './heaps/index.ts';
export * from './mapping-type.ts';
export * from './mapping-sgt.ts';
export * from './mapping-pal.ts';
export * from './mapping-iov.ts';
export * from './mapping.ts';
export * from './attachment.ts';
export * from './dma-buf.ts';
export * from './attach.ts';
export * from './map.ts';
export * from './cpu-access.ts';
export * from './revoke.ts';
export * from './ioctl.ts';
export * from './poll.ts';
export * from './file.ts';
export * from './dma-heap.ts';
