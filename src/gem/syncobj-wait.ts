/**
 * Host-side waits on syncobjs: `DRM_IOCTL_SYNCOBJ_WAIT` and
 * `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT` wait on several syncobj points at once,
 * for all or any, optionally first for the points to be submitted
 * (WAIT_FOR_SUBMIT) or only for them to appear (WAIT_AVAILABLE).
 *
 * @kernel drm_syncobj_array_wait_timeout, drm_timeout_abs_to_jiffies (drivers/gpu/drm/drm_syncobj.c)
 */
import { lockdepAssertNoneHeldOnce } from '../check/index.ts';
import { dmaFenceChainFindSeqno, dmaFenceGetStub, dmaFenceSignallers } from '../fence/index.ts';
import type { DmaFence, DmaFenceCb, FencePtr } from '../fence/index.ts';
import { Errno, GFP_KERNEL, kmalloc } from '../kernel/index.ts';
import type { Kernel, Thread } from '../kernel/index.ts';
import { drmSyncobjFenceGet } from './syncobj-fence.ts';
import { scheduleTimeoutOn } from './syncobj-find.ts';
import {
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
} from './syncobj-flags.ts';
import type { DrmSyncobj } from './syncobj-object.ts';
import { drmSyncobjFenceAddWait, drmSyncobjRemoveWait, SyncobjWaitCb } from './syncobj-wait-entry.ts';
import type { SyncobjWaitEntry } from './syncobj-wait-entry.ts';

/**
 * `drm_timeout_abs_to_jiffies(timeout_nsec)`: an absolute CLOCK_MONOTONIC
 * deadline (virtual time here) as a relative timeout in jiffies: 0 for 0
 * (a poll) or a deadline already past, else the rounded-down jiffies plus
 * one. A deadline that is not a finite integer (e.g. `Infinity` for the
 * kernel's U64_MAX) waits without limit.
 *
 * @kernel drm_timeout_abs_to_jiffies
 */
export function drmTimeoutAbsToJiffies(k: Kernel, timeoutNsec: number): number {
  if (timeoutNsec === 0) return 0;
  if (!(timeoutNsec > k.nowNs)) return 0;
  if (!Number.isSafeInteger(timeoutNsec)) return Number.POSITIVE_INFINITY;
  return Math.floor(((timeoutNsec - k.nowNs) * k.hz) / 1e9) + 1;
}

/** `syncobj_wait_fence_func`: wake the waiting task. */
function syncobjWaitFenceFunc(_f: DmaFence, cb: DmaFenceCb): void {
  if (cb instanceof SyncobjWaitCb) cb.entry.task.kernel.wake(cb.entry.task);
}

/** The result of a host wait: remaining jiffies (>= 0) or a negative errno, and the first signalled index. */
export interface SyncobjArrayWaitResult {
  readonly timeout: number;
  /** `first_signaled`: ~0 (0xffffffff) when no index was recorded. */
  readonly first: number;
}

/**
 * `drm_syncobj_array_wait_timeout`: wait until all (WAIT_ALL) or any of the
 * syncobjs' points are signalled (or only available, with WAIT_AVAILABLE).
 * A point with no fence yet is `-EINVAL` unless WAIT_FOR_SUBMIT or
 * WAIT_AVAILABLE lets the wait also wait for it to be submitted (those
 * flags first assert that no lock is held: `lockdep_assert_none_held_once`).
 * `deadlineNs` (WAIT_DEADLINE) is set on every fence. Returns the jiffies
 * left, or `-ETIME` when the timeout expires, `-ERESTARTSYS` on a signal,
 * `-ENOMEM`. The fences found when the wait started are the ones waited on
 * (a reset or a new fence later does not change them: the "snapshot" IGT
 * cases). Process context; sleeps interruptibly.
 *
 * @kernel drm_syncobj_array_wait_timeout
 */
export async function drmSyncobjArrayWaitTimeout(
  k: Kernel,
  syncobjs: readonly DrmSyncobj[],
  points: readonly number[] | null,
  flags: number,
  timeoutJiffies: number,
  deadlineNs: number | null,
): Promise<SyncobjArrayWaitResult> {
  const count = syncobjs.length;
  const submit = (flags & (DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE)) !== 0;
  const available = (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) !== 0;
  const all = (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL) !== 0;
  let first = 0xffffffff;
  if (submit) {
    k.mightSleep('drm_syncobj_array_wait_timeout');
    lockdepAssertNoneHeldOnce(k);
  }
  if (!kmalloc(k, count * 8, GFP_KERNEL, 'drm_syncobj_array_wait_timeout points')) return { timeout: -Errno.ENOMEM, first };
  if (!kmalloc(k, count * 80, GFP_KERNEL, 'drm_syncobj_array_wait_timeout entries')) return { timeout: -Errno.ENOMEM, first };
  const t = k.current;
  const entries: (SyncobjWaitEntry & { cbAdded: boolean })[] = [];
  let timeout = timeoutJiffies;
  const cleanup = (): SyncobjArrayWaitResult => {
    // A successful wait saw its fences signalled: it is ordered after their signallers.
    if (timeout >= 0 && k.hb !== null) for (const e of entries) if (e.fence?.signalled) k.hb.acquire(t, e.fence);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      drmSyncobjRemoveWait(syncobjs[i]!, e);
      if (e.cbAdded && e.cb) e.fence!.removeCallback(e.cb);
      e.fence?.put();
    }
    return { timeout, first };
  };
  // Look every syncobj up front, so a missing fence is -EINVAL before anything waits.
  let signaled = 0;
  for (let i = 0; i < count; i++) {
    const e = { task: t, fence: null as DmaFence | null, point: points?.[i] ?? 0, cb: null as SyncobjWaitCb | null, linked: false, cbAdded: false };
    e.cb = new SyncobjWaitCb(e);
    entries.push(e);
    const p: FencePtr = { fence: drmSyncobjFenceGet(syncobjs[i]!) };
    const orig = p.fence;
    if (!p.fence || dmaFenceChainFindSeqno(p, e.point)) {
      orig?.put();
      if (submit) continue;
      timeout = -Errno.EINVAL;
      return cleanup();
    }
    e.fence = p.fence ?? dmaFenceGetStub(k);
    if (available || e.fence.isSignaled()) {
      if (signaled === 0) first = i;
      signaled++;
    }
  }
  if (signaled === count || (signaled > 0 && !all)) return cleanup();
  // Not all found signalled: queue for submissions, then the usual wait loop
  // (backends need not report signalling before enable_signaling).
  if (submit) for (let i = 0; i < count; i++) drmSyncobjFenceAddWait(syncobjs[i]!, entries[i]!);
  if (deadlineNs !== null) for (const e of entries) e.fence?.setDeadline(deadlineNs);
  const blocker = {
    describe: () => `${all ? 'all' : 'any'} of ${count} syncobj${count === 1 ? '' : 's'}${submit ? ' (waiting for submissions)' : ''}`,
    owners: (): readonly Thread[] => {
      const out: Thread[] = [];
      for (const e of entries) if (e.fence && !e.fence.signalled) for (const s of dmaFenceSignallers(e.fence)) if (!out.includes(s)) out.push(s);
      return out;
    },
  };
  for (;;) {
    signaled = 0;
    for (let i = 0; i < count; i++) {
      const e = entries[i]!;
      const fence = e.fence;
      if (!fence) continue;
      let done = available || fence.isSignaled();
      if (!done && !e.cbAdded) {
        if (fence.addCallback(e.cb!, syncobjWaitFenceFunc) === 0) e.cbAdded = true;
        else done = true;
      }
      if (!done) continue;
      if (all) {
        signaled++;
      } else {
        first = i;
        return cleanup();
      }
    }
    if (signaled === count) return cleanup();
    if (timeout === 0) {
      timeout = -Errno.ETIME;
      return cleanup();
    }
    if (t.signalPending) {
      timeout = -Errno.ERESTARTSYS;
      return cleanup();
    }
    timeout = await scheduleTimeoutOn(k, t, blocker, 'drm_syncobj_array_wait', timeout);
  }
}
