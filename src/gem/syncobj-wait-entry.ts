/**
 * `struct syncobj_wait_entry`: a task waiting on a syncobj point, and the
 * syncobj's `cb_list` of tasks waiting for that point to be submitted
 * (`syncobj_wait_syncobj_func` hands them the fence when it comes). The
 * waits that use them are in `syncobj-find.ts` (WAIT_FOR_SUBMIT) and
 * `syncobj-wait.ts` (the wait ioctls).
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c (struct syncobj_wait_entry, drm_syncobj_fence_add_wait, drm_syncobj_remove_wait)
 */
import { DmaFenceCb, dmaFenceChainFindSeqno, dmaFenceGetStub } from '../fence/index.ts';
import type { DmaFence, FencePtr } from '../fence/index.ts';
import type { Thread } from '../kernel/index.ts';
import type { DrmSyncobj } from './forward.ts';
import { lockIfRunning, unlockIf } from './syncobj-context.ts';

/** `fence_cb` of a `syncobj_wait_entry`. @kernel syncobj_wait_entry.fence_cb */
export class SyncobjWaitCb extends DmaFenceCb {
  constructor(readonly entry: SyncobjWaitEntry) {
    super();
  }
}

/**
 * `struct syncobj_wait_entry`: one task waiting on one syncobj (point). On
 * the syncobj's `cb_list` while it waits for a fence to be submitted.
 *
 * @kernel struct syncobj_wait_entry
 */
export interface SyncobjWaitEntry {
  readonly task: Thread;
  /** The fence found for the point (a reference), or null while none was submitted. */
  fence: DmaFence | null;
  readonly point: number;
  /** The callback on `fence`, once armed (`fence_cb.func` set). */
  cb: SyncobjWaitCb | null;
  /** On `cb_list` (`wait->node.next` non-NULL). */
  linked: boolean;
}

/**
 * `syncobj_wait_syncobj_func` (syncobj lock held): the fence changed; if the
 * waited point now has a fence (a stub if it already completed), hand it to
 * the waiter, wake it and take it off `cb_list`.
 *
 * @kernel syncobj_wait_syncobj_func
 */
export function syncobjWaitSyncobjFunc(syncobj: DrmSyncobj, wait: SyncobjWaitEntry): void {
  const p: FencePtr = { fence: syncobj.fence?.get() ?? null };
  if (!p.fence || dmaFenceChainFindSeqno(p, wait.point)) {
    p.fence?.put();
    return;
  }
  wait.fence = p.fence ?? dmaFenceGetStub(syncobj.kernel);
  syncobj.kernel.wake(wait.task);
  unlinkWait(syncobj, wait);
}

function unlinkWait(syncobj: DrmSyncobj, wait: SyncobjWaitEntry): void {
  if (!wait.linked) return;
  wait.linked = false;
  const i = syncobj.cbList.indexOf(wait);
  if (i >= 0) syncobj.cbList.splice(i, 1);
}

/**
 * `drm_syncobj_fence_add_wait`: unless the entry already has a fence, look
 * once more under the lock; with no fence for the point yet, queue the
 * entry on `cb_list` (a later replace or add_point hands one over).
 *
 * @kernel drm_syncobj_fence_add_wait
 */
export function drmSyncobjFenceAddWait(syncobj: DrmSyncobj, wait: SyncobjWaitEntry): void {
  if (wait.fence) return;
  const took = lockIfRunning(syncobj.lock);
  const p: FencePtr = { fence: syncobj.fence?.get() ?? null };
  if (!p.fence || dmaFenceChainFindSeqno(p, wait.point)) {
    p.fence?.put();
    wait.linked = true;
    syncobj.cbList.push(wait);
  } else {
    wait.fence = p.fence ?? dmaFenceGetStub(syncobj.kernel);
  }
  unlockIf(syncobj.lock, took);
}

/** `drm_syncobj_remove_wait`: take the entry off `cb_list` if it is still there. @kernel drm_syncobj_remove_wait */
export function drmSyncobjRemoveWait(syncobj: DrmSyncobj, wait: SyncobjWaitEntry): void {
  if (!wait.linked) return;
  const took = lockIfRunning(syncobj.lock);
  unlinkWait(syncobj, wait);
  unlockIf(syncobj.lock, took);
}
