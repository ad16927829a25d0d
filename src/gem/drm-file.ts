import { Errno, GFP_KERNEL, kmalloc, Mutex } from '../kernel/index.ts';
import type { DmaBuf } from '../buf/index.ts';
import type { DrmDevice } from './drm-device.ts';
import type { DrmGemObject } from './gem-object.ts';

/**
 * `struct drm_prime_file_private`: per-file PRIME lookup in both
 * directions (dma-buf → handle, handle → dma-buf), each entry holding a
 * dma-buf reference.
 *
 * @kernel struct drm_prime_file_private, drm_prime_add_buf_handle, drm_prime_remove_buf_handle
 */
export class DrmPrimeFilePrivate {
  readonly lock: Mutex;
  readonly handles = new Map<DmaBuf, number>();
  readonly dmabufs = new Map<number, DmaBuf>();

  constructor(file: DrmFile) {
    this.lock = new Mutex(file.dev.kernel, `&${file.name}->prime.lock`, {
      key: 'drm_prime_file_private.lock',
    });
  }

  /** `drm_prime_add_buf_handle`: remember the pair, taking a dma-buf reference. */
  add(dmabuf: DmaBuf, handle: number): void {
    dmabuf.get();
    this.handles.set(dmabuf, handle);
    this.dmabufs.set(handle, dmabuf);
  }

  /** `drm_prime_remove_buf_handle`: forget `handle`, dropping the reference. */
  remove(handle: number): void {
    const dmabuf = this.dmabufs.get(handle);
    if (!dmabuf) return;
    this.dmabufs.delete(handle);
    this.handles.delete(dmabuf);
    dmabuf.put();
  }
}

const fileIds = new WeakMap<object, number>();

/**
 * `struct drm_file`: an open DRM file with its GEM handle table
 * (`object_idr`, handles from 1) and PRIME lookup.
 *
 * @kernel struct drm_file (include/drm/drm_file.h)
 */
export class DrmFile {
  /** `object_idr`. */
  readonly objects = new Map<number, DrmGemObject>();
  readonly prime: DrmPrimeFilePrivate;
  readonly name: string;

  constructor(readonly dev: DrmDevice) {
    const n = (fileIds.get(dev.kernel) ?? 0) + 1;
    fileIds.set(dev.kernel, n);
    this.name = `${dev.name}/file${n}`;
    this.prime = new DrmPrimeFilePrivate(this);
  }

  /** @internal `idr_alloc(&file_priv->object_idr, obj, 1, 0)`: the lowest unused handle from 1. */
  allocHandle(obj: DrmGemObject): number {
    let h = 1;
    while (this.objects.has(h)) h++;
    this.objects.set(h, obj);
    return h;
  }
}

/**
 * `drm_gem_handle_create_tail`: with `dev.objectNameLock` held by the caller
 * (released here), count a handle on `obj` (the first handle takes the
 * object reference all handles share) and give
 * it a new handle in `file`. `-ENOMEM` if the idr cannot allocate.
 *
 * @kernel drm_gem_handle_create_tail
 */
export function drmGemHandleCreateTail(file: DrmFile, obj: DrmGemObject): number {
  const dev = file.dev;
  dev.objectNameLock.assertHeld();
  if (!kmalloc(dev.kernel, 64, GFP_KERNEL, 'drm_gem_handle_create')) {
    dev.objectNameLock.unlock();
    return -Errno.ENOMEM;
  }
  // All handles together hold one object reference.
  if (obj.handleCount++ === 0) obj.get();
  dev.objectNameLock.unlock();
  return file.allocHandle(obj);
}

/**
 * `drm_gem_handle_create`: a new handle for `obj` in `file` (the handle
 * holds its own reference; the caller keeps its own). Process context.
 *
 * @kernel drm_gem_handle_create
 */
export async function drmGemHandleCreate(file: DrmFile, obj: DrmGemObject): Promise<number> {
  await file.dev.objectNameLock.lock();
  return drmGemHandleCreateTail(file, obj);
}

/** `drm_gem_object_lookup`: the object behind `handle` with a new reference, or null. @kernel drm_gem_object_lookup */
export function drmGemObjectLookup(file: DrmFile, handle: number): DrmGemObject | null {
  const obj = file.objects.get(handle);
  return obj ? obj.get() : null;
}

/**
 * `drm_gem_object_handle_put_unlocked`: drop a handle count; the last one
 * frees the exported dma-buf cache (`obj.dmaBuf`) and drops the object
 * reference the handles held together.
 *
 * @kernel drm_gem_object_handle_put_unlocked, drm_gem_object_exported_dma_buf_free
 */
export async function drmGemObjectHandlePutUnlocked(obj: DrmGemObject): Promise<void> {
  const dev = obj.dev;
  if (obj.handleCount === 0) {
    dev.kernel.splat({
      rule: 'gem.handle_count_underflow',
      severity: 'warn',
      headline:
        'WARNING: drm_gem_object_handle_put_unlocked: WARN_ON(READ_ONCE(obj->handle_count) == 0)',
      body: obj.toString(),
    });
    return;
  }
  await dev.objectNameLock.lock();
  const last = --obj.handleCount === 0;
  if (last && obj.dmaBuf) {
    const d = obj.dmaBuf;
    obj.dmaBuf = null;
    d.put();
  }
  dev.objectNameLock.unlock();
  if (last) obj.put();
}

/**
 * `drm_gem_handle_delete`: remove `handle` from `file` (and its PRIME
 * entry), then put the handle. `-EINVAL` for an unknown handle.
 *
 * @kernel drm_gem_handle_delete, drm_gem_object_release_handle
 */
export async function drmGemHandleDelete(file: DrmFile, handle: number): Promise<number> {
  const obj = file.objects.get(handle);
  if (!obj) return -Errno.EINVAL;
  file.objects.delete(handle);
  await file.prime.lock.lock();
  file.prime.remove(handle);
  file.prime.lock.unlock();
  await drmGemObjectHandlePutUnlocked(obj);
  return 0;
}

/** `drm_gem_release`: close every handle of `file` (the DRM file is being closed). @kernel drm_gem_release */
export async function drmGemRelease(file: DrmFile): Promise<void> {
  for (const handle of [...file.objects.keys()]) await drmGemHandleDelete(file, handle);
}
