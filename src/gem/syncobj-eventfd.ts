/**
 * `DRM_IOCTL_SYNCOBJ_EVENTFD` registrations: an eventfd signalled when a
 * syncobj point is available or signalled, kept on the syncobj's
 * `ev_fd_list` until the point has a fence. The fence updates in
 * `syncobj-fence.ts` run `syncobjEventfdEntryFunc` on the list.
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c (struct syncobj_eventfd_entry, drm_syncobj_add_eventfd)
 */
import { DmaFenceCb, dmaFenceChainFindSeqno, dmaFenceGetStub, eventfdSignal } from '../fence/index.ts';
import type { DmaFence, EventFd, FencePtr, OpenFile } from '../fence/index.ts';
import { Errno, U64_MAX, wholeArg } from '../kernel/index.ts';
import type { DrmSyncobj } from './forward.ts';
import { lockIfRunning, unlockIf } from './syncobj-context.ts';
import { DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE } from './syncobj-flags.ts';

/** `fence_cb` of an eventfd registration. */
class SyncobjEventfdCb extends DmaFenceCb {
  constructor(readonly entry: SyncobjEventfdEntry) {
    super();
  }
}

/**
 * One `DRM_IOCTL_SYNCOBJ_EVENTFD` registration: signal `evFd` when `point`
 * is available or signalled. On the syncobj's `ev_fd_list` until its point
 * has a fence.
 *
 * @kernel struct syncobj_eventfd_entry
 */
export class SyncobjEventfdEntry {
  fence: DmaFence | null = null;
  linked = true;
  readonly cb: DmaFenceCb;

  constructor(
    readonly syncobj: DrmSyncobj,
    readonly evFd: EventFd,
    /** The file reference that keeps the eventfd alive (`eventfd_ctx_get`). */
    readonly evFdFile: OpenFile,
    readonly point: number,
    readonly flags: number,
  ) {
    this.cb = new SyncobjEventfdCb(this);
  }
}

/** `syncobj_eventfd_entry_free`: drop the eventfd and the fence, unlink, free. */
export function syncobjEventfdEntryFree(entry: SyncobjEventfdEntry): void {
  entry.evFdFile.put();
  entry.fence?.put();
  if (entry.linked) {
    entry.linked = false;
    const list = entry.syncobj.evFdList;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
  }
}

/** `syncobj_eventfd_entry_fence_func`: the point's fence signalled. */
function syncobjEventfdEntryFenceFunc(_f: DmaFence, cb: DmaFenceCb): void {
  if (!(cb instanceof SyncobjEventfdCb)) return;
  eventfdSignal(cb.entry.evFd);
  syncobjEventfdEntryFree(cb.entry);
}

/**
 * `syncobj_eventfd_entry_func` (syncobj lock held): once the point has a
 * fence, signal the eventfd at once (WAIT_AVAILABLE, or the fence already
 * signalled) or when the fence signals.
 */
export function syncobjEventfdEntryFunc(syncobj: DrmSyncobj, entry: SyncobjEventfdEntry): void {
  const p: FencePtr = { fence: syncobj.fence?.get() ?? null };
  if (!p.fence) return;
  const orig = p.fence;
  if (dmaFenceChainFindSeqno(p, entry.point) !== 0) {
    // The point has not been submitted yet.
    orig.put();
    return;
  }
  // Found but collected: the point signalled and a later one exists.
  const fence = p.fence ?? dmaFenceGetStub(syncobj.kernel);
  entry.linked = false;
  syncobj.evFdList.splice(syncobj.evFdList.indexOf(entry), 1);
  entry.fence = fence;
  if (entry.flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) {
    eventfdSignal(entry.evFd);
    syncobjEventfdEntryFree(entry);
  } else if (fence.addCallback(entry.cb, syncobjEventfdEntryFenceFunc) === -Errno.ENOENT) {
    eventfdSignal(entry.evFd);
    syncobjEventfdEntryFree(entry);
  }
}

/**
 * `drm_syncobj_add_eventfd`: register `evFd` to be signalled when `point`
 * (0: the current fence) is available (WAIT_AVAILABLE) or signalled. Takes
 * over the caller's reference to the eventfd file.
 *
 * @kernel drm_syncobj_add_eventfd
 */
export function drmSyncobjAddEventfd(syncobj: DrmSyncobj, evFd: EventFd, evFdFile: OpenFile, point: number, flags: number): void {
  wholeArg('drmSyncobjAddEventfd(syncobj, evFd, evFdFile, point, flags)', 'point', point, '(u64)', U64_MAX);
  const entry = new SyncobjEventfdEntry(syncobj, evFd, evFdFile, point, flags);
  const took = lockIfRunning(syncobj.lock);
  syncobj.evFdList.push(entry);
  syncobjEventfdEntryFunc(syncobj, entry);
  unlockIf(syncobj.lock, took);
}
