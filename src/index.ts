/**
 * dmabuf-lab: Linux dma-buf, dma-fence, dma-resv and the DRM GPU scheduler as
 * an executable model on a deterministic simulated kernel, with lockdep and
 * a scenario runner. Each layer is also importable on its own
 * (`dmabuf-lab/src/<layer>/index.ts` in the source tree).
 */
export * from './kernel/index.ts';
export * from './check/index.ts';
export * from './fence/index.ts';
export * from './resv/index.ts';
export * from './pci/index.ts';
export * from './buf/index.ts';
export * from './gem/index.ts';
export * from './sched/index.ts';
export * from './hw/index.ts';
export * from './explore/index.ts';
export * from './trace/index.ts';
