/**
 * GEM and PRIME: GEM objects (own or shared reservation object) with
 * handles per DRM file, PRIME export (handle → dma-buf fd) and import
 * (fd → handle, self-import detection), and the `drm_exec` multi-object
 * locking helper; drm_syncobj (binary and timeline) with its ioctls, and a
 * DRM device node for the simulated userspace.
 */
export * from './drm-device.ts';
export * from './gem-object.ts';
export * from './drm-file.ts';
export * from './prime.ts';
export * from './exec.ts';
export * from './deps.ts';
export * from './syncobj-flags.ts';
export * from './syncobj-wait-entry.ts';
export { drmSyncobjAddEventfd, SyncobjEventfdEntry } from './syncobj-eventfd.ts';
export { drmSyncobjAddPoint, drmSyncobjAssignNullHandle, drmSyncobjFenceGet, drmSyncobjReplaceFence } from './syncobj-fence.ts';
export * from './syncobj-object.ts';
export * from './syncobj-handles.ts';
export * from './syncobj-find.ts';
export * from './syncobj-fd.ts';
export * from './syncobj-transfer.ts';
export * from './syncobj-wait.ts';
export * from './syncobj-ioctl.ts';
export * from './drm-fops.ts';
