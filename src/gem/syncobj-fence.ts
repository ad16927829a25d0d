/**
 * A syncobj's fence: reading it, replacing it (binary), adding a timeline
 * point (a `dma_fence_chain` node), the signalled stub, and freeing the
 * syncobj's fence and eventfds at the last put. Every change runs the
 * waiters of `cb_list` and `ev_fd_list`.
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c (drm_syncobj_fence_get, drm_syncobj_add_point, drm_syncobj_replace_fence, drm_syncobj_free)
 */
import { dmaFenceAllocatePrivateStub, dmaFenceChainForEach, dmaFenceChainInit, dmaFencePublish } from '../fence/index.ts';
import type { DmaFence, DmaFenceChain } from '../fence/index.ts';
import { Errno, U64_MAX, wholeArg } from '../kernel/index.ts';
import type { DrmSyncobj } from './forward.ts';
import { lockIfRunning, unlockIf } from './syncobj-context.ts';
import { syncobjEventfdEntryFree, syncobjEventfdEntryFunc } from './syncobj-eventfd.ts';
import { syncobjWaitSyncobjFunc } from './syncobj-wait-entry.ts';

/**
 * `drm_syncobj_fence_get`: a new reference to the current fence, or null.
 *
 * @kernel drm_syncobj_fence_get
 */
export function drmSyncobjFenceGet(syncobj: DrmSyncobj): DmaFence | null {
  // rcu_dereference: pairs with the rcu_assign_pointer of replace_fence / add_point.
  syncobj.kernel.hb?.acquire(syncobj.kernel.currentOrNull, syncobj);
  return syncobj.fence?.get() ?? null;
}

/** `rcu_assign_pointer(syncobj->fence, ...)`: publish to lockless readers (the race detector's release). */
function publishFence(syncobj: DrmSyncobj): void {
  syncobj.kernel.hb?.release(syncobj.kernel.currentOrNull, syncobj);
}

function runWaiters(syncobj: DrmSyncobj): void {
  for (const w of [...syncobj.cbList]) syncobjWaitSyncobjFunc(syncobj, w);
  for (const e of [...syncobj.evFdList]) syncobjEventfdEntryFunc(syncobj, e);
}

/**
 * `drm_syncobj_add_point`: make `chain` (from `dmaFenceChainAlloc`) the new
 * timeline point `point` over `fence`, linked to the previous fence. A point
 * not above the last one is accepted (the kernel only logs "You are adding
 * an unorder point to timeline!"; QUERY may then report 0). Waiters whose
 * point appeared are woken; the chain is walked once so signalled points
 * can be freed. Takes its own reference to `fence`. Process or atomic
 * context (no sleeping).
 *
 * @kernel drm_syncobj_add_point
 */
export function drmSyncobjAddPoint(syncobj: DrmSyncobj, chain: DmaFenceChain, fence: DmaFence, point: number): void {
  wholeArg('drmSyncobjAddPoint(syncobj, chain, fence, point)', 'point', point, '(u64)', U64_MAX);
  fence.get();
  dmaFencePublish(fence);
  const took = lockIfRunning(syncobj.lock);
  const prev = drmSyncobjFenceGet(syncobj);
  // The chain takes over the syncobj's reference to prev; the one just taken is for the walk below.
  dmaFenceChainInit(chain, prev, fence, point);
  syncobj.fence = chain;
  publishFence(syncobj);
  runWaiters(syncobj);
  unlockIf(syncobj.lock, took);
  if (prev) {
    for (const _ of dmaFenceChainForEach(prev)) {
      // Walk the chain once to trigger garbage collection.
    }
    prev.put();
  }
}

/**
 * `drm_syncobj_replace_fence`: the syncobj now holds (a new reference to)
 * `fence`, or nothing; waiters are woken when it changed. The old fence's
 * reference is dropped after the lock is released.
 *
 * @kernel drm_syncobj_replace_fence
 */
export function drmSyncobjReplaceFence(syncobj: DrmSyncobj, fence: DmaFence | null): void {
  if (fence) {
    fence.get();
    dmaFencePublish(fence);
  }
  const took = lockIfRunning(syncobj.lock);
  const old = syncobj.fence;
  syncobj.fence = fence;
  publishFence(syncobj);
  if (fence !== old) runWaiters(syncobj);
  unlockIf(syncobj.lock, took);
  old?.put();
}

/**
 * `drm_syncobj_assign_null_handle`: install a new, already signalled
 * private stub fence (`DRM_IOCTL_SYNCOBJ_SIGNAL`, `CREATE_SIGNALED`).
 * `-ENOMEM` if it cannot be allocated.
 *
 * @kernel drm_syncobj_assign_null_handle
 */
export function drmSyncobjAssignNullHandle(syncobj: DrmSyncobj): number {
  const k = syncobj.kernel;
  const fence = dmaFenceAllocatePrivateStub(k, k.nowNs);
  if (!fence) return -Errno.ENOMEM;
  drmSyncobjReplaceFence(syncobj, fence);
  fence.put();
  return 0;
}

/** `drm_syncobj_free`: drop the fence and every eventfd registration, then `kfree`. */
export function drmSyncobjFree(syncobj: DrmSyncobj): void {
  drmSyncobjReplaceFence(syncobj, null);
  for (const e of [...syncobj.evFdList]) syncobjEventfdEntryFree(e);
  const k = syncobj.kernel;
  k.hb?.free(k.currentOrNull, syncobj, 'drm_syncobj_free');
}
