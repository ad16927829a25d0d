/**
 * IGT's `lib/igt_syncobj.c` and `lib/sw_sync.c` helpers over the model's
 * ioctls, so the ported subtests read like the IGT sources. Each helper
 * returns what the IGT `__` variant returns (0 or -errno); the plain
 * variants throw on error, as `igt_assert` would fail the subtest.
 */
import { DrmDevice, drmDevRegister } from '../../src/gem/index.ts';
import { Device } from '../../src/pci/index.ts';
import { Kernel } from '../../src/kernel/index.ts';
import type { RunResult } from '../../src/kernel/index.ts';
import { UserProcess } from '../../src/fence/index.ts';
import { createFence, inc, timelineCreate } from '../fence/user-helpers.ts';

export { createFence, inc, timelineCreate };

/** Open a fresh DRM device (`drm_open_driver(DRIVER_ANY)`): the fd. */
export function drmOpenDriver(p: UserProcess, features?: number): number {
  const dev = new DrmDevice(p.kernel, 'card0', new Device('card0-dma'), features === undefined ? { name: 'mock' } : { name: 'mock', features });
  const path = drmDevRegister(dev, `/dev/dri/card0-${features ?? 'default'}`);
  const fd = p.open(path);
  if (fd < 0) throw new Error(`open ${path}: ${fd}`);
  return fd;
}

function ok(r: number, what: string): number {
  if (r < 0) throw new Error(`${what} failed: ${r}`);
  return r;
}

export async function syncobjCreate(p: UserProcess, fd: number, flags = 0): Promise<number> {
  const a = { flags, handle: 0 };
  ok(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_CREATE', a), 'syncobj_create');
  return a.handle;
}

export async function syncobjDestroy(p: UserProcess, fd: number, handle: number): Promise<void> {
  ok(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_DESTROY', { handle, pad: 0 }), 'syncobj_destroy');
}

export async function __syncobjHandleToFd(p: UserProcess, fd: number, a: Record<string, unknown>): Promise<number> {
  return p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD', a);
}

export async function __syncobjFdToHandle(p: UserProcess, fd: number, a: Record<string, unknown>): Promise<number> {
  return p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE', a);
}

export async function syncobjHandleToFd(p: UserProcess, fd: number, handle: number, flags = 0): Promise<number> {
  const a = { handle, flags, fd: -1 };
  ok(await __syncobjHandleToFd(p, fd, a), 'syncobj_handle_to_fd');
  return a.fd;
}

export async function syncobjFdToHandle(p: UserProcess, fd: number, syncobjFd: number, flags = 0): Promise<number> {
  const a = { fd: syncobjFd, flags, handle: 0 };
  ok(await __syncobjFdToHandle(p, fd, a), 'syncobj_fd_to_handle');
  return a.handle;
}

/** `syncobj_import_sync_file(fd, handle, sync_file)`. */
export async function syncobjImportSyncFile(p: UserProcess, fd: number, handle: number, syncFile: number): Promise<void> {
  ok(await __syncobjFdToHandle(p, fd, { handle, fd: syncFile, flags: 1 }), 'syncobj_import_sync_file');
}

/** `__syncobj_wait` / `syncobj_wait_err`: 0 or -errno; `timeoutNsec` absolute. */
export async function syncobjWaitErr(p: UserProcess, fd: number, handles: number[], timeoutNsec: number, flags: number): Promise<number> {
  return p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_WAIT', { handles, countHandles: handles.length, timeoutNsec, flags });
}

/** `syncobj_wait`: true when the wait succeeded, false on -ETIME; anything else throws. */
export async function syncobjWait(p: UserProcess, fd: number, handles: number[], timeoutNsec: number, flags: number): Promise<boolean> {
  const r = await syncobjWaitErr(p, fd, handles, timeoutNsec, flags);
  if (r === -62) return false;
  ok(r, 'syncobj_wait');
  return true;
}

export async function syncobjTimelineWaitErr(p: UserProcess, fd: number, handles: number[], points: number[], timeoutNsec: number, flags: number): Promise<number> {
  return p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT', { handles, points, countHandles: handles.length, timeoutNsec, flags });
}

export async function syncobjTimelineWait(p: UserProcess, fd: number, handles: number[], points: number[], timeoutNsec: number, flags: number): Promise<boolean> {
  const r = await syncobjTimelineWaitErr(p, fd, handles, points, timeoutNsec, flags);
  if (r === -62) return false;
  ok(r, 'syncobj_timeline_wait');
  return true;
}

export async function syncobjReset(p: UserProcess, fd: number, handles: number[]): Promise<void> {
  ok(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_RESET', { handles, countHandles: handles.length }), 'syncobj_reset');
}

export async function syncobjSignal(p: UserProcess, fd: number, handles: number[]): Promise<void> {
  ok(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_SIGNAL', { handles, countHandles: handles.length }), 'syncobj_signal');
}

export async function syncobjTimelineSignal(p: UserProcess, fd: number, handles: number[], points: number[]): Promise<void> {
  ok(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL', { handles, points, countHandles: handles.length }), 'syncobj_timeline_signal');
}

export async function syncobjTimelineQuery(p: UserProcess, fd: number, handles: number[], flags = 0): Promise<number[]> {
  const points: number[] = [];
  ok(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_QUERY', { handles, points, countHandles: handles.length, flags }), 'syncobj_timeline_query');
  return points;
}

/** `syncobj_binary_to_timeline(fd, timeline, point, binary)`. */
export async function syncobjBinaryToTimeline(p: UserProcess, fd: number, timeline: number, point: number, binary: number): Promise<void> {
  ok(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_TRANSFER', { srcHandle: binary, dstHandle: timeline, srcPoint: 0, dstPoint: point, flags: 0 }), 'syncobj_binary_to_timeline');
}

/** `syncobj_timeline_to_timeline(fd, dst, dst_point, src, src_point)`. */
export async function syncobjTimelineToTimeline(p: UserProcess, fd: number, dst: number, dstPoint: number, src: number, srcPoint: number): Promise<void> {
  ok(await p.ioctl(fd, 'DRM_IOCTL_SYNCOBJ_TRANSFER', { srcHandle: src, dstHandle: dst, srcPoint, dstPoint, flags: 0 }), 'syncobj_timeline_to_timeline');
}

/**
 * `syncobj_attach_sw_sync(fd, handle[, point])`: a new sw_sync timeline whose
 * point 1 becomes the syncobj's fence (binary) or timeline point `point`
 * (imported into a temporary binary syncobj, then transferred).
 */
export async function syncobjAttachSwSync(p: UserProcess, fd: number, handle: number, point = 0): Promise<number> {
  const timeline = timelineCreate(p);
  const fence = await createFence(p, timeline, 1);
  if (point === 0) {
    await syncobjImportSyncFile(p, fd, handle, fence);
  } else {
    const tmp = await syncobjCreate(p, fd, 0);
    await syncobjImportSyncFile(p, fd, tmp, fence);
    await syncobjBinaryToTimeline(p, fd, handle, point, tmp);
    await syncobjDestroy(p, fd, tmp);
  }
  p.close(fence);
  return timeline;
}

/** `syncobj_trigger(fd, handle[, point])`: attach a sw_sync point and signal it. */
export async function syncobjTrigger(p: UserProcess, fd: number, handle: number, point = 0): Promise<void> {
  const timeline = await syncobjAttachSwSync(p, fd, handle, point);
  await inc(p, timeline, 1);
  p.close(timeline);
}

/** IGT's `SHORT_TIME_NSEC`: a tenth of a second. */
export const SHORT_TIME_NSEC = 100_000_000;

/** An IGT program: one process `igt` with its DRM fd; the run fails on an exception (a failed igt_assert). */
export async function igtRun(
  body: (p: UserProcess, fd: number, k: Kernel) => Promise<void>,
  opts: { seed?: number; features?: number } = {},
): Promise<RunResult> {
  const k = new Kernel({ seed: opts.seed ?? 1 });
  const p = new UserProcess(k, 'igt');
  p.spawn('igt', async () => {
    const fd = drmOpenDriver(p, opts.features);
    await body(p, fd, k);
    p.exit();
  });
  const r = await k.run();
  if (r.failure) throw new Error(r.failure.message, { cause: r.failure.error });
  return r;
}
