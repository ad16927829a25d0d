/**
 * Syncobj fds: the opaque "syncobj_file" sharing a syncobj between
 * processes (handle ↔ fd), and sync_file import into a syncobj point and
 * export from one.
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c (drm_syncobj_file_fops, drm_syncobj_get_fd, drm_syncobj_handle_to_fd, drm_syncobj_fd_to_handle, drm_syncobj_import_sync_file_fence, drm_syncobj_export_sync_file)
 */
import { dmaFenceChainAlloc, OpenFile, syncFileCreate, syncFileGetFence } from '../fence/index.ts';
import type { File, FencePtr, UserProcess } from '../fence/index.ts';
import { Errno } from '../kernel/index.ts';
import type { DrmFile } from './drm-file.ts';
import { syncobjAlloc } from './syncobj-context.ts';
import { drmSyncobjAddPoint, drmSyncobjReplaceFence } from './syncobj-fence.ts';
import { drmSyncobjFindFence, syncobjArgs } from './syncobj-find.ts';
import { drmSyncobjFind, drmSyncobjGetHandle } from './syncobj-handles.ts';
import type { DrmSyncobj } from './syncobj-object.ts';

/**
 * The anonymous "syncobj_file": an fd sharing a syncobj between processes.
 * Opaque: no ioctls, no poll.
 *
 * @kernel drm_syncobj_file_fops
 */
export class DrmSyncobjFile implements File {
  readonly fileType = 'syncobj_file';

  constructor(readonly syncobj: DrmSyncobj) {}

  /** `drm_syncobj_file_release`. */
  release(): void {
    this.syncobj.put();
  }
}

/**
 * `drm_syncobj_get_fd`: a new syncobj fd in `proc` (with its own reference),
 * or a negative errno.
 *
 * @kernel drm_syncobj_get_fd
 */
export function drmSyncobjGetFd(proc: UserProcess, syncobj: DrmSyncobj): number {
  const fd = proc.getUnusedFd();
  if (fd < 0) return fd;
  if (!syncobjAlloc(proc.kernel, 256, 'anon_inode_getfile')) return -Errno.ENOMEM;
  syncobj.get();
  proc.fdInstall(fd, new OpenFile(new DrmSyncobjFile(syncobj)));
  return fd;
}

/** `drm_syncobj_handle_to_fd`: `-EINVAL` for an unknown handle. @kernel drm_syncobj_handle_to_fd */
export function drmSyncobjHandleToFd(file: DrmFile, proc: UserProcess, handle: number): number {
  const syncobj = drmSyncobjFind(file, handle);
  if (!syncobj) return -Errno.EINVAL;
  const fd = drmSyncobjGetFd(proc, syncobj);
  syncobj.put();
  return fd;
}

/**
 * `drm_syncobj_fd_to_handle`: a new handle for the syncobj behind a syncobj
 * fd (no de-duplication: every import is a new handle); `-EINVAL` for a bad
 * fd or any other kind of file.
 *
 * @kernel drm_syncobj_fd_to_handle
 */
export function drmSyncobjFdToHandle(file: DrmFile, proc: UserProcess, fd: number): number {
  const of = fd >= 0 ? proc.fget(fd) : null;
  if (!of) return -Errno.EINVAL;
  try {
    if (!(of.file instanceof DrmSyncobjFile)) return -Errno.EINVAL;
    return drmSyncobjGetHandle(file, of.file.syncobj);
  } finally {
    of.put();
  }
}

/**
 * `drm_syncobj_import_sync_file_fence`: the sync_file's fence becomes the
 * syncobj's fence (`point` 0) or its timeline point `point`. `-EINVAL` for
 * an fd that is not a sync_file, `-ENOENT` for an unknown handle.
 *
 * Deliberate difference: the kernel leaks the fence and syncobj references
 * when the chain node cannot be allocated; the model drops them.
 *
 * @kernel drm_syncobj_import_sync_file_fence
 */
export function drmSyncobjImportSyncFileFence(file: DrmFile, proc: UserProcess, fd: number, handle: number, point: number): number {
  syncobjArgs('drmSyncobjImportSyncFileFence(file, proc, fd, handle, point)', handle, point);
  const fence = syncFileGetFence(proc, fd);
  if (!fence) return -Errno.EINVAL;
  const syncobj = drmSyncobjFind(file, handle);
  if (!syncobj) {
    fence.put();
    return -Errno.ENOENT;
  }
  let ret = 0;
  if (point) {
    const chain = dmaFenceChainAlloc(proc.kernel);
    if (chain) drmSyncobjAddPoint(syncobj, chain, fence, point);
    else ret = -Errno.ENOMEM;
  } else {
    drmSyncobjReplaceFence(syncobj, fence);
  }
  fence.put();
  syncobj.put();
  return ret;
}

/**
 * `drm_syncobj_export_sync_file`: a sync_file fd on the fence of `point`
 * (0: the current fence), found without waiting; `-EINVAL` when there is
 * none yet.
 *
 * @kernel drm_syncobj_export_sync_file
 */
export async function drmSyncobjExportSyncFile(file: DrmFile, proc: UserProcess, handle: number, point: number): Promise<number> {
  syncobjArgs('drmSyncobjExportSyncFile(file, proc, handle, point)', handle, point);
  const fd = proc.getUnusedFd();
  if (fd < 0) return fd;
  const p: FencePtr = { fence: null };
  const ret = await drmSyncobjFindFence(file, handle, point, 0, p);
  if (ret) return ret;
  const sf = syncFileCreate(proc.kernel, p.fence!);
  p.fence!.put();
  if (!sf) return -Errno.EINVAL;
  proc.fdInstall(fd, new OpenFile(sf));
  return fd;
}
