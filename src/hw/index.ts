/**
 * Simulated devices and reference drivers: a command engine with a ring, a
 * 32-bit hardware seqno and interrupts; runtime PM; a GPU driver and an
 * Ethos-U-shaped NPU driver on drm_sched; the vfio-pci MMIO exporter and its
 * importers; a display CRTC with vblank out-fences and the atomic commit
 * helpers (commit tail annotated as a fence signalling section).
 */
export * from './engine.ts';
export * from './runtime-pm.ts';
export * from './gpu.ts';
export * from './resv-lock.ts';
export * from './npu.ts';
export * from './npu-submit.ts';
export * from './xe-evict.ts';
export * from './vfio-dmabuf.ts';
export * from './vfio-pci.ts';
export * from './vfio-importers.ts';
export * from './vfio-type1.ts';
export * from './display.ts';
