/**
 * The per-file syncobj handle table (`syncobj_idr` and
 * `syncobj_table_lock` of `struct drm_file`): open and release with the
 * file, look a handle up, allocate and destroy handles.
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c (drm_syncobj_open, drm_syncobj_release, drm_syncobj_find, drm_syncobj_get_handle, drm_syncobj_destroy)
 */
import { Errno, SpinLock } from '../kernel/index.ts';
import type { DrmFile } from './drm-file.ts';
import { lockIfRunning, syncobjAlloc, unlockIf } from './syncobj-context.ts';
import type { DrmSyncobj } from './syncobj-object.ts';

/** The syncobj half of `struct drm_file`: `syncobj_idr` (handles from 1) and `syncobj_table_lock`. */
export interface SyncobjTable {
  readonly idr: Map<number, DrmSyncobj>;
  readonly lock: SpinLock;
}

const tables = new WeakMap<DrmFile, SyncobjTable>();

/**
 * `drm_syncobj_open`: the syncobj handle table of `file` (created on first
 * use, as the kernel does at open time).
 *
 * @kernel drm_syncobj_open
 */
export function drmSyncobjOpen(file: DrmFile): SyncobjTable {
  let t = tables.get(file);
  if (!t) {
    t = {
      idr: new Map(),
      lock: new SpinLock(file.dev.kernel, '&file_private->syncobj_table_lock', { key: 'drm_file.syncobj_table_lock' }),
    };
    tables.set(file, t);
  }
  return t;
}

/**
 * `drm_syncobj_release`: the file is closing; drop every handle's reference.
 *
 * @kernel drm_syncobj_release
 */
export function drmSyncobjRelease(file: DrmFile): void {
  const t = tables.get(file);
  if (!t) return;
  const all = [...t.idr.values()];
  t.idr.clear();
  for (const s of all) s.put();
}

/**
 * `drm_syncobj_find`: a new reference to the syncobj behind `handle`, or null.
 *
 * @kernel drm_syncobj_find
 */
export function drmSyncobjFind(file: DrmFile, handle: number): DrmSyncobj | null {
  const t = drmSyncobjOpen(file);
  const took = lockIfRunning(t.lock);
  const s = t.idr.get(handle) ?? null;
  s?.get();
  unlockIf(t.lock, took);
  return s;
}

/** `idr_preload(GFP_KERNEL)` + `idr_alloc(idr, syncobj, 1, 0, GFP_NOWAIT)`: the lowest free handle, or -ENOMEM. */
function idrAlloc(file: DrmFile, syncobj: DrmSyncobj): number {
  const k = file.dev.kernel;
  if (!syncobjAlloc(k, 64, 'idr_preload')) return -Errno.ENOMEM;
  const t = drmSyncobjOpen(file);
  const took = lockIfRunning(t.lock);
  let h = 1;
  while (t.idr.has(h)) h++;
  t.idr.set(h, syncobj);
  unlockIf(t.lock, took);
  return h;
}

/**
 * `drm_syncobj_get_handle`: a new handle in `file` (holding its own
 * reference), or a negative errno.
 *
 * @kernel drm_syncobj_get_handle
 */
export function drmSyncobjGetHandle(file: DrmFile, syncobj: DrmSyncobj): number {
  syncobj.get();
  const h = idrAlloc(file, syncobj);
  if (h < 0) syncobj.put();
  return h;
}

/**
 * `drm_syncobj_destroy`: remove `handle`; `-EINVAL` if it is unknown.
 *
 * @kernel drm_syncobj_destroy
 */
export function drmSyncobjDestroy(file: DrmFile, handle: number): number {
  const t = drmSyncobjOpen(file);
  const took = lockIfRunning(t.lock);
  const s = t.idr.get(handle);
  t.idr.delete(handle);
  unlockIf(t.lock, took);
  if (!s) return -Errno.EINVAL;
  s.put();
  return 0;
}
