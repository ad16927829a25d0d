/**
 * The syncobj ioctls of a DRM device file, with the kernel's argument checks
 * and errnos. Arguments are plain objects as for the other userspace ioctls
 * (`copy_from_user` / `copy_to_user`), fields in camelCase:
 *
 * - `DRM_IOCTL_SYNCOBJ_CREATE` `{ handle (out), flags }`
 * - `DRM_IOCTL_SYNCOBJ_DESTROY` `{ handle, pad }`
 * - `DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD` / `_FD_TO_HANDLE` `{ handle, flags, fd, pad, point }`
 * - `DRM_IOCTL_SYNCOBJ_WAIT` `{ handles, countHandles, timeoutNsec, flags, firstSignaled (out), pad, deadlineNsec }`
 * - `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT` the same plus `points`
 * - `DRM_IOCTL_SYNCOBJ_RESET` / `_SIGNAL` `{ handles, countHandles, pad }`
 * - `DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL` / `_QUERY` `{ handles, points, countHandles, flags }`
 * - `DRM_IOCTL_SYNCOBJ_TRANSFER` `{ srcHandle, dstHandle, srcPoint, dstPoint, flags, pad }`
 * - `DRM_IOCTL_SYNCOBJ_EVENTFD` `{ handle, flags, point, fd, pad }`
 *
 * `handles` and `points` are arrays (the user pointers); a missing `points`
 * is the NULL pointer (all points 0). `timeoutNsec` is an absolute virtual
 * time in ns; `Infinity` stands for the kernel's U64_MAX.
 *
 * @kernel drm_syncobj_*_ioctl (drivers/gpu/drm/drm_syncobj.c), include/uapi/drm/drm.h
 */
import { eventfdCtxFdget, isUserStruct, readU32, readU64 } from '../fence/index.ts';
import type { FileContext, UserStruct } from '../fence/index.ts';
import { dmaFenceChainAlloc, dmaFenceChainFree, dmaFenceChainForEach, dmaFenceGetStub, toDmaFenceChain } from '../fence/index.ts';
import type { DmaFenceChain } from '../fence/index.ts';
import { Errno, GFP_KERNEL, kmalloc, kzalloc } from '../kernel/index.ts';
import { drmCoreCheckFeature, DRIVER_SYNCOBJ, DRIVER_SYNCOBJ_TIMELINE } from './drm-device.ts';
import type { DrmFile } from './drm-file.ts';
import { drmSyncobjAddEventfd } from './syncobj-eventfd.ts';
import { drmSyncobjExportSyncFile, drmSyncobjFdToHandle, drmSyncobjHandleToFd, drmSyncobjImportSyncFileFence } from './syncobj-fd.ts';
import { drmSyncobjAddPoint, drmSyncobjAssignNullHandle, drmSyncobjFenceGet, drmSyncobjReplaceFence } from './syncobj-fence.ts';
import {
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
  DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
} from './syncobj-flags.ts';
import { drmSyncobjDestroy, drmSyncobjFind, drmSyncobjGetHandle } from './syncobj-handles.ts';
import { drmSyncobjCreate } from './syncobj-object.ts';
import type { DrmSyncobj } from './syncobj-object.ts';
import { drmSyncobjTransferToBinary, drmSyncobjTransferToTimeline } from './syncobj-transfer.ts';
import { drmSyncobjArrayWaitTimeout, drmTimeoutAbsToJiffies } from './syncobj-wait.ts';

const EFAULT = -Errno.EFAULT;
const EINVAL = -Errno.EINVAL;

/** Reads of the scalar fields of `o`; null when a field cannot be copied (EFAULT). */
function fields(o: UserStruct, u32: readonly string[], u64: readonly string[] = []): Record<string, number> | null {
  const out: Record<string, number> = {};
  for (const f of u32) {
    const v = readU32(o, f);
    if (v === null) return null;
    out[f] = v;
  }
  for (const f of u64) {
    const v = readU64(o, f);
    if (v === null) return null;
    out[f] = v;
  }
  return out;
}

/** `copy_from_user` of `count` integers from the array at `o[key]`; null for EFAULT. */
function readArray(o: UserStruct, key: string, count: number, max: number): number[] | null {
  const v = o[key];
  if (!Array.isArray(v) || v.length < count) return null;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > max) return null;
    out.push(x);
  }
  return out;
}

/** A u64 user pointer to points: undefined / null / 0 is NULL. */
function readPoints(o: UserStruct, key: string, count: number): number[] | null | 'null' {
  const v = o[key];
  if (v === undefined || v === null || v === 0) return 'null';
  return readArray(o, key, count, Number.MAX_SAFE_INTEGER);
}

/** `timeout_nsec` / `deadline_nsec` (s64 / u64): any number >= 0, `Infinity` allowed; null for EFAULT. */
function readNsec(o: UserStruct, key: string): number | null {
  const v = o[key];
  if (v === undefined) return 0;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (Number.isFinite(v) && !Number.isInteger(v))) return null;
  return v;
}

/**
 * `drm_syncobj_array_find`: a reference to each syncobj of `handles`;
 * `-ENOENT` (nothing held) if one is unknown, `-EFAULT`, `-ENOMEM`.
 */
function arrayFind(file: DrmFile, o: UserStruct, count: number): DrmSyncobj[] | number {
  const k = file.dev.kernel;
  if (!kmalloc(k, count * 4, GFP_KERNEL, 'drm_syncobj_array_find handles')) return -Errno.ENOMEM;
  const handles = readArray(o, 'handles', count, 0xffffffff);
  if (!handles) return EFAULT;
  if (!kmalloc(k, count * 8, GFP_KERNEL, 'drm_syncobj_array_find syncobjs')) return -Errno.ENOMEM;
  const out: DrmSyncobj[] = [];
  for (const h of handles) {
    const s = drmSyncobjFind(file, h);
    if (!s) {
      for (const x of out) x.put();
      return -Errno.ENOENT;
    }
    out.push(s);
  }
  return out;
}

function arrayFree(syncobjs: readonly DrmSyncobj[]): void {
  for (const s of syncobjs) s.put();
}

function needs(file: DrmFile, feature: number): boolean {
  return drmCoreCheckFeature(file.dev, feature);
}

/** `drm_syncobj_create_ioctl`: only CREATE_SIGNALED is a valid flag. */
function createIoctl(file: DrmFile, a: UserStruct): number {
  if (!needs(file, DRIVER_SYNCOBJ)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['flags']);
  if (!f) return EFAULT;
  if (f.flags! & ~DRM_SYNCOBJ_CREATE_SIGNALED) return EINVAL;
  const s = drmSyncobjCreate(file.dev.kernel, f.flags!);
  if (typeof s === 'number') return s;
  const h = drmSyncobjGetHandle(file, s);
  s.put();
  if (h < 0) return h;
  a.handle = h;
  return 0;
}

/** `drm_syncobj_destroy_ioctl`: `pad` must be 0; -EINVAL for an unknown handle. */
function destroyIoctl(file: DrmFile, a: UserStruct): number {
  if (!needs(file, DRIVER_SYNCOBJ)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['handle', 'pad']);
  if (!f) return EFAULT;
  if (f.pad) return EINVAL;
  return drmSyncobjDestroy(file, f.handle!);
}

/** `drm_syncobj_handle_to_fd_ioctl`: a syncobj fd, or with EXPORT_SYNC_FILE a sync_file of the point. */
async function handleToFdIoctl(file: DrmFile, ctx: FileContext, a: UserStruct): Promise<number> {
  if (!needs(file, DRIVER_SYNCOBJ)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['handle', 'flags', 'pad'], ['point']);
  if (!f) return EFAULT;
  if (f.pad) return EINVAL;
  if (f.flags! & ~(DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE | DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)) return EINVAL;
  const point = f.flags! & DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE ? f.point! : 0;
  let fd: number;
  if (f.flags! & DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE) {
    fd = await drmSyncobjExportSyncFile(file, ctx.proc, f.handle!, point);
  } else {
    if (f.point) return EINVAL;
    fd = drmSyncobjHandleToFd(file, ctx.proc, f.handle!);
  }
  if (fd < 0) return fd;
  a.fd = fd;
  return 0;
}

/** `drm_syncobj_fd_to_handle_ioctl`: import a syncobj fd, or with IMPORT_SYNC_FILE a sync_file's fence. */
function fdToHandleIoctl(file: DrmFile, ctx: FileContext, a: UserStruct): number {
  if (!needs(file, DRIVER_SYNCOBJ)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['handle', 'flags', 'pad'], ['point']);
  const fdv = a.fd;
  if (!f || (fdv !== undefined && (typeof fdv !== 'number' || !Number.isInteger(fdv)))) return EFAULT;
  const fd = (fdv) ?? 0;
  if (f.pad) return EINVAL;
  if (f.flags! & ~(DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE | DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE)) return EINVAL;
  const point = f.flags! & DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE ? f.point! : 0;
  if (f.flags! & DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE) return drmSyncobjImportSyncFileFence(file, ctx.proc, fd, f.handle!, point);
  if (f.point) return EINVAL;
  const h = drmSyncobjFdToHandle(file, ctx.proc, fd);
  if (h < 0) return h;
  a.handle = h;
  return 0;
}

/** `drm_syncobj_wait_ioctl` / `drm_syncobj_timeline_wait_ioctl`. */
async function waitIoctl(file: DrmFile, a: UserStruct, timeline: boolean): Promise<number> {
  if (!needs(file, timeline ? DRIVER_SYNCOBJ_TIMELINE : DRIVER_SYNCOBJ)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['countHandles', 'flags', 'pad']);
  const timeoutNsec = readNsec(a, 'timeoutNsec');
  const deadlineNsec = readNsec(a, 'deadlineNsec');
  if (!f || timeoutNsec === null || deadlineNsec === null) return EFAULT;
  const possible =
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL |
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT |
    (timeline ? DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE : 0) |
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE;
  if (f.flags! & ~possible) return EINVAL;
  const count = f.countHandles!;
  if (count === 0) return 0;
  const syncobjs = arrayFind(file, a, count);
  if (typeof syncobjs === 'number') return syncobjs;
  try {
    const k = file.dev.kernel;
    let points: number[] | null = null;
    if (timeline) {
      const p = readPoints(a, 'points', count);
      if (p === null) return EFAULT;
      points = p === 'null' ? null : p;
    }
    const deadline = f.flags! & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE ? deadlineNsec : null;
    const r = await drmSyncobjArrayWaitTimeout(k, syncobjs, points, f.flags!, drmTimeoutAbsToJiffies(k, timeoutNsec), deadline);
    if (r.timeout < 0) return r.timeout;
    a.firstSignaled = r.first;
    return 0;
  } finally {
    arrayFree(syncobjs);
  }
}

/** `drm_syncobj_reset_ioctl` / `drm_syncobj_signal_ioctl`: `pad` 0, at least one handle, all known. */
function resetOrSignalIoctl(file: DrmFile, a: UserStruct, signal: boolean): number {
  if (!needs(file, DRIVER_SYNCOBJ)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['countHandles', 'pad']);
  if (!f) return EFAULT;
  if (f.pad) return EINVAL;
  if (f.countHandles === 0) return EINVAL;
  const syncobjs = arrayFind(file, a, f.countHandles!);
  if (typeof syncobjs === 'number') return syncobjs;
  let ret = 0;
  for (const s of syncobjs) {
    if (!signal) {
      drmSyncobjReplaceFence(s, null);
      continue;
    }
    ret = drmSyncobjAssignNullHandle(s);
    if (ret < 0) break;
  }
  arrayFree(syncobjs);
  return ret;
}

/** `drm_syncobj_timeline_signal_ioctl`: add a signalled point (a stub) to each timeline. */
function timelineSignalIoctl(file: DrmFile, a: UserStruct): number {
  if (!needs(file, DRIVER_SYNCOBJ_TIMELINE)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['countHandles', 'flags']);
  if (!f) return EFAULT;
  if (f.flags !== 0) return EINVAL;
  const count = f.countHandles!;
  if (count === 0) return EINVAL;
  const syncobjs = arrayFind(file, a, count);
  if (typeof syncobjs === 'number') return syncobjs;
  const k = file.dev.kernel;
  try {
    if (!kmalloc(k, count * 8, GFP_KERNEL, 'drm_syncobj_timeline_signal_ioctl points')) return -Errno.ENOMEM;
    const p = readPoints(a, 'points', count);
    if (p === null) return EFAULT;
    const points = p === 'null' ? new Array<number>(count).fill(0) : p;
    if (!kmalloc(k, count * 8, GFP_KERNEL, 'drm_syncobj_timeline_signal_ioctl chains')) return -Errno.ENOMEM;
    const chains: DmaFenceChain[] = [];
    for (let i = 0; i < count; i++) {
      const c = dmaFenceChainAlloc(k);
      if (!c) {
        for (const x of chains) dmaFenceChainFree(x);
        return -Errno.ENOMEM;
      }
      chains.push(c);
    }
    for (let i = 0; i < count; i++) {
      const stub = dmaFenceGetStub(k);
      drmSyncobjAddPoint(syncobjs[i]!, chains[i]!, stub, points[i]!);
      stub.put();
    }
    return 0;
  } finally {
    arrayFree(syncobjs);
  }
}

/**
 * `drm_syncobj_query_ioctl`: per syncobj, the last signalled point of its
 * timeline (the last submitted one with LAST_SUBMITTED); 0 for a binary
 * syncobj or an empty one.
 */
function queryIoctl(file: DrmFile, a: UserStruct): number {
  if (!needs(file, DRIVER_SYNCOBJ_TIMELINE)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['countHandles', 'flags']);
  if (!f) return EFAULT;
  if (f.flags! & ~DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED) return EINVAL;
  if (f.countHandles === 0) return EINVAL;
  const syncobjs = arrayFind(file, a, f.countHandles!);
  if (typeof syncobjs === 'number') return syncobjs;
  const out = a.points;
  let ret = 0;
  for (let i = 0; i < syncobjs.length; i++) {
    const fence = drmSyncobjFenceGet(syncobjs[i]!);
    const chain = toDmaFenceChain(fence);
    let point = 0;
    if (chain && fence) {
      let last = fence.get();
      if (f.flags! & DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED) {
        point = fence.seqno;
      } else {
        for (const iter of dmaFenceChainForEach(fence)) {
          if (iter.context !== fence.context) {
            // Most likely the timeline has unordered points.
            iter.put();
            break;
          }
          last.put();
          last = iter.get();
        }
        point = last.isSignaled() ? last.seqno : toDmaFenceChain(last)!.prevSeqno;
      }
      last.put();
    }
    fence?.put();
    if (!Array.isArray(out)) {
      ret = EFAULT;
      break;
    }
    out[i] = point;
  }
  arrayFree(syncobjs);
  return ret;
}

/** `drm_syncobj_transfer_ioctl`: to a timeline point (`dstPoint` != 0) or to a binary syncobj. */
function transferIoctl(file: DrmFile, a: UserStruct): Promise<number> | number {
  if (!needs(file, DRIVER_SYNCOBJ_TIMELINE)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['srcHandle', 'dstHandle', 'flags', 'pad'], ['srcPoint', 'dstPoint']);
  if (!f) return EFAULT;
  if (f.pad) return EINVAL;
  const args = { srcHandle: f.srcHandle!, dstHandle: f.dstHandle!, srcPoint: f.srcPoint!, dstPoint: f.dstPoint!, flags: f.flags! };
  return f.dstPoint ? drmSyncobjTransferToTimeline(file, args) : drmSyncobjTransferToBinary(file, args);
}

/** `drm_syncobj_eventfd_ioctl`: only WAIT_AVAILABLE is a valid flag; `pad` 0. */
function eventfdIoctl(file: DrmFile, ctx: FileContext, a: UserStruct): number {
  if (!needs(file, DRIVER_SYNCOBJ_TIMELINE)) return -Errno.EOPNOTSUPP;
  const f = fields(a, ['handle', 'flags', 'pad'], ['point']);
  const fdv = a.fd;
  if (!f || (fdv !== undefined && (typeof fdv !== 'number' || !Number.isInteger(fdv)))) return EFAULT;
  if (f.flags! & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) return EINVAL;
  if (f.pad) return EINVAL;
  const syncobj = drmSyncobjFind(file, f.handle!);
  if (!syncobj) return -Errno.ENOENT;
  try {
    const ev = eventfdCtxFdget(ctx.proc, (fdv) ?? 0);
    if (typeof ev === 'number') return ev;
    if (!kzalloc(file.dev.kernel, 96, GFP_KERNEL, 'drm_syncobj_eventfd_ioctl')) {
      ev.file.put();
      return -Errno.ENOMEM;
    }
    drmSyncobjAddEventfd(syncobj, ev.ctx, ev.file, f.point!, f.flags!);
    return 0;
  } finally {
    syncobj.put();
  }
}

/**
 * Dispatch a syncobj ioctl of a DRM file: the result, or null when
 * `request` is not a syncobj ioctl. A struct argument that is not an object
 * is -EFAULT. Process context.
 *
 * @kernel drm_ioctls[] syncobj entries (drivers/gpu/drm/drm_ioctl.c)
 */
export function drmSyncobjIoctl(file: DrmFile, ctx: FileContext, request: string, arg: unknown): Promise<number> | number | null {
  const known = [
    'DRM_IOCTL_SYNCOBJ_CREATE',
    'DRM_IOCTL_SYNCOBJ_DESTROY',
    'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD',
    'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE',
    'DRM_IOCTL_SYNCOBJ_WAIT',
    'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT',
    'DRM_IOCTL_SYNCOBJ_RESET',
    'DRM_IOCTL_SYNCOBJ_SIGNAL',
    'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL',
    'DRM_IOCTL_SYNCOBJ_QUERY',
    'DRM_IOCTL_SYNCOBJ_TRANSFER',
    'DRM_IOCTL_SYNCOBJ_EVENTFD',
  ];
  if (!known.includes(request)) return null;
  if (!isUserStruct(arg)) return EFAULT;
  switch (request) {
    case 'DRM_IOCTL_SYNCOBJ_CREATE':
      return createIoctl(file, arg);
    case 'DRM_IOCTL_SYNCOBJ_DESTROY':
      return destroyIoctl(file, arg);
    case 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD':
      return handleToFdIoctl(file, ctx, arg);
    case 'DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE':
      return fdToHandleIoctl(file, ctx, arg);
    case 'DRM_IOCTL_SYNCOBJ_WAIT':
      return waitIoctl(file, arg, false);
    case 'DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT':
      return waitIoctl(file, arg, true);
    case 'DRM_IOCTL_SYNCOBJ_RESET':
      return resetOrSignalIoctl(file, arg, false);
    case 'DRM_IOCTL_SYNCOBJ_SIGNAL':
      return resetOrSignalIoctl(file, arg, true);
    case 'DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL':
      return timelineSignalIoctl(file, arg);
    case 'DRM_IOCTL_SYNCOBJ_QUERY':
      return queryIoctl(file, arg);
    case 'DRM_IOCTL_SYNCOBJ_TRANSFER':
      return transferIoctl(file, arg);
    default:
      return eventfdIoctl(file, ctx, arg);
  }
}
