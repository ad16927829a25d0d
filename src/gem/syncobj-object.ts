/**
 * drm_syncobj: the DRM synchronisation object behind Vulkan fences and
 * (timeline) semaphores. A syncobj is a refcounted pointer to a fence that
 * may be NULL; as a binary object its fence is replaced, as a timeline it
 * grows a `dma_fence_chain` (one node per point). This file holds the
 * object and its creation; the files below it (forward-declared type) keep
 * its fence (`syncobj-fence.ts`) and waiters (`syncobj-wait-entry.ts`,
 * `syncobj-eventfd.ts`), the files above it the handle table
 * (`syncobj-handles.ts`), `find_fence` (`syncobj-find.ts`), fds
 * (`syncobj-fd.ts`), TRANSFER (`syncobj-transfer.ts`), host waits
 * (`syncobj-wait.ts`) and the ioctls (`syncobj-ioctl.ts`).
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c, include/drm/drm_syncobj.h
 */
import type { DmaFence } from '../fence/index.ts';
import { Errno, Kref, SpinLock } from '../kernel/index.ts';
import type { Kernel } from '../kernel/index.ts';
import { syncobjAlloc } from './syncobj-context.ts';
import type { SyncobjEventfdEntry } from './syncobj-eventfd.ts';
import { drmSyncobjAssignNullHandle, drmSyncobjFree, drmSyncobjReplaceFence } from './syncobj-fence.ts';
import { DRM_SYNCOBJ_CREATE_SIGNALED } from './syncobj-flags.ts';
import type { SyncobjWaitEntry } from './syncobj-wait-entry.ts';

declare module './forward.ts' {
  /** The forward-declared `DrmSyncobj` of the files below this one is this class. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: adds DrmSyncobj's members
  interface DrmSyncobj extends DrmSyncobjClass {}
}
/** The class, under a name the merged declaration above can extend. */
type DrmSyncobjClass = DrmSyncobj;

let syncobjIds = new WeakMap<Kernel, number>();

/**
 * `struct drm_syncobj`: a refcount, the current fence (NULL or a fence, a
 * chain node for a timeline), the tasks waiting for a submission
 * (`cb_list`), the eventfd registrations, and `lock` (a plain spinlock:
 * syncobjs are never touched from IRQ context).
 *
 * @kernel struct drm_syncobj
 */
export class DrmSyncobj {
  readonly refcount: Kref;
  /** `fence` (RCU pointer); the syncobj holds one reference. */
  fence: DmaFence | null = null;
  readonly cbList: SyncobjWaitEntry[] = [];
  readonly evFdList: SyncobjEventfdEntry[] = [];
  readonly lock: SpinLock;
  readonly id: number;

  /** @internal use `drmSyncobjCreate`. */
  constructor(readonly kernel: Kernel) {
    this.id = (syncobjIds.get(kernel) ?? 0) + 1;
    syncobjIds.set(kernel, this.id);
    this.refcount = new Kref(kernel, `drm_syncobj ${this.id}`);
    this.lock = new SpinLock(kernel, '&syncobj->lock', { key: 'drm_syncobj.lock' });
  }

  /** `drm_syncobj_get`. */
  get(): this {
    this.refcount.get();
    return this;
  }

  /** `drm_syncobj_put`: the last reference frees it (`drm_syncobj_free`). */
  put(): void {
    this.refcount.put(() => {
      drmSyncobjFree(this);
    });
  }

  toString(): string {
    return `syncobj ${this.id}`;
  }
}

/** @internal start syncobj numbering over (tests that compare runs in one process). @kernel none: model bookkeeping */
export function resetSyncobjIds(): void {
  syncobjIds = new WeakMap();
}

/**
 * `drm_syncobj_create`: a new syncobj (one reference for the caller),
 * signalled with a stub if `DRM_SYNCOBJ_CREATE_SIGNALED`, holding `fence` if
 * given. `-ENOMEM` on allocation failure. Process context.
 *
 * @kernel drm_syncobj_create
 */
export function drmSyncobjCreate(k: Kernel, flags: number, fence: DmaFence | null = null): DrmSyncobj | number {
  if (!syncobjAlloc(k, 160, 'drm_syncobj_create')) return -Errno.ENOMEM;
  const syncobj = new DrmSyncobj(k);
  k.hb?.alloc(syncobj, { what: 'struct drm_syncobj', size: 160, fn: 'drm_syncobj_create', locks: [syncobj.lock] });
  if (flags & DRM_SYNCOBJ_CREATE_SIGNALED) {
    const ret = drmSyncobjAssignNullHandle(syncobj);
    if (ret < 0) {
      syncobj.put();
      return ret;
    }
  }
  if (fence) drmSyncobjReplaceFence(syncobj, fence);
  return syncobj;
}
