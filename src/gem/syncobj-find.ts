/**
 * `drm_syncobj_find_fence`: the fence of a syncobj point by handle, now or
 * (WAIT_FOR_SUBMIT) after waiting for userspace to submit it; the
 * interruptible `schedule_timeout` the syncobj waits share, and the
 * argument check of the helpers taking a handle and a point.
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c (drm_syncobj_find_fence)
 */
import { lockdepAssertNoneHeldOnce } from '../check/index.ts';
import { dmaFenceChainFindSeqno, dmaFenceGetStub } from '../fence/index.ts';
import type { FencePtr } from '../fence/index.ts';
import { Errno, U32_MAX, U64_MAX, wholeArg, WOULD_SLEEP } from '../kernel/index.ts';
import type { Kernel, Thread } from '../kernel/index.ts';
import type { DrmFile } from './drm-file.ts';
import { drmSyncobjFenceGet } from './syncobj-fence.ts';
import { DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS } from './syncobj-flags.ts';
import { drmSyncobjFind } from './syncobj-handles.ts';
import type { DrmSyncobj } from './syncobj-object.ts';
import { drmSyncobjFenceAddWait, drmSyncobjRemoveWait } from './syncobj-wait-entry.ts';
import type { SyncobjWaitEntry } from './syncobj-wait-entry.ts';

/** What a task waiting for a submission blocks on: no known owner (userspace submits). */
function submitBlocker(syncobj: DrmSyncobj, point: number): { describe(): string; owners(): readonly Thread[] } {
  return {
    describe: () => `${syncobj.toString()}${point ? ` point ${point}` : ''} (waiting for a submission)`,
    owners: () => [],
  };
}

/**
 * `drm_syncobj_find_fence(file, handle, point, flags, &fence)`: the fence
 * of `point` (the current fence for 0) with a new reference in `out.fence`;
 * a stub when the point already completed and was collected. `-ENOENT` for
 * an unknown handle, `-EINVAL` for other flags or when there is no fence for
 * the point yet. With `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT` it waits
 * (interruptibly, up to 5 s) for the point to be submitted: `-ETIME` when
 * it does not come, `-ERESTARTSYS` on a signal. Waiting for userspace must
 * not happen with locks held (it can deadlock against the submitter or a
 * page fault): `might_sleep()` and `lockdep_assert_none_held_once()` check
 * it first. Process context (from a synchronous callback it only looks: a
 * point not submitted yet is `-ETIME` at once, see `Kernel.sleeping`).
 *
 * Deliberate difference: the kernel checks the flags after looking up the
 * syncobj and leaks that reference on `-EINVAL`; the model checks first.
 *
 * @kernel drm_syncobj_find_fence
 */
export function drmSyncobjFindFence(file: DrmFile, handle: number, point: number, flags: number, out: FencePtr): Promise<number> {
  syncobjArgs('drmSyncobjFindFence(file, handle, point, flags, out)', handle, point);
  const k = file.dev.kernel;
  if (flags & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) return Promise.resolve(-Errno.EINVAL);
  if (!(flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)) return Promise.resolve(findFenceNow(file, handle, point, out));
  const op = 'drm_syncobj_find_fence';
  // Called from a synchronous callback, the lookup alone runs; a point not submitted yet times out at once.
  return k.sleeping(
    op,
    () => {
      lockdepAssertNoneHeldOnce(k);
      const r = findFenceNow(file, handle, point, out);
      return r === -Errno.EINVAL ? WOULD_SLEEP : r;
    },
    () => findFenceWaitForSubmit(file, handle, point, out),
    () => -Errno.ETIME,
  );
}

/** The lookup of `drm_syncobj_find_fence` without waiting: 0, -ENOENT, or -EINVAL (no fence for the point yet). */
function findFenceNow(file: DrmFile, handle: number, point: number, out: FencePtr): number {
  const syncobj = drmSyncobjFind(file, handle);
  if (!syncobj) return -Errno.ENOENT;
  try {
    return lookupPoint(syncobj, point, out);
  } finally {
    syncobj.put();
  }
}

/** `drm_syncobj_fence_get` + `dma_fence_chain_find_seqno`: 0 with `out.fence` set (a stub for a collected point), or -EINVAL. */
function lookupPoint(syncobj: DrmSyncobj, point: number, out: FencePtr): number {
  out.fence = drmSyncobjFenceGet(syncobj);
  if (!out.fence) return -Errno.EINVAL;
  const orig = out.fence;
  const ret = dmaFenceChainFindSeqno(out, point);
  if (!ret) {
    out.fence ??= dmaFenceGetStub(syncobj.kernel);
    return 0;
  }
  orig.put();
  out.fence = null;
  return ret;
}

/** The WAIT_FOR_SUBMIT path of `drm_syncobj_find_fence` in a context that may sleep. */
async function findFenceWaitForSubmit(file: DrmFile, handle: number, point: number, out: FencePtr): Promise<number> {
  const k = file.dev.kernel;
  const syncobj = drmSyncobjFind(file, handle);
  if (!syncobj) return -Errno.ENOENT;
  k.mightSleep('drm_syncobj_find_fence');
  lockdepAssertNoneHeldOnce(k);
  try {
    let ret = lookupPoint(syncobj, point, out);
    if (ret === 0) return 0;
    const t = k.current;
    const wait: SyncobjWaitEntry = { task: t, fence: null, point, cb: null, linked: false };
    drmSyncobjFenceAddWait(syncobj, wait);
    let timeout = Math.floor((DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS * k.hz) / 1e9);
    const blocker = submitBlocker(syncobj, point);
    for (;;) {
      if (wait.fence) {
        ret = 0;
        break;
      }
      if (timeout === 0) {
        ret = -Errno.ETIME;
        break;
      }
      if (t.signalPending) {
        ret = -Errno.ERESTARTSYS;
        break;
      }
      timeout = await scheduleTimeoutOn(k, t, blocker, 'drm_syncobj_find_fence', timeout);
    }
    out.fence = wait.fence;
    // The waiter sees what was published with the fence it was handed.
    if (wait.fence) k.hb?.acquire(t, syncobj);
    drmSyncobjRemoveWait(syncobj, wait);
    return ret;
  } finally {
    syncobj.put();
  }
}

/**
 * `schedule_timeout(timeout)` in TASK_INTERRUPTIBLE, blocked on `blocker`:
 * the jiffies left (0 once the time is up; `Infinity` stays).
 *
 * @internal
 * @kernel schedule_timeout
 */
export async function scheduleTimeoutOn(
  k: Kernel,
  t: Thread,
  blocker: { describe(): string; owners(): readonly Thread[] },
  op: string,
  timeout: number,
): Promise<number> {
  if (timeout === Number.POSITIVE_INFINITY) {
    await k.block(t, blocker, op, { interruptible: true });
    return timeout;
  }
  const deadlineJ = k.jiffies + timeout;
  await k.block(t, blocker, op, { interruptible: true, timeoutNs: k.jiffiesToNs(deadlineJ) - k.nowNs });
  return Math.max(0, deadlineJ - k.jiffies);
}

/**
 * The handle (u32) and point (u64) a driver passes to the syncobj helpers,
 * checked as numbers (an unknown handle is the kernel's -ENOENT, not this).
 *
 * @kernel none: the model's argument check (u32 handle, u64 point)
 */
export function syncobjArgs(fn: string, handle: number, point: number): void {
  wholeArg(fn, 'handle', handle, '(u32)', U32_MAX);
  wholeArg(fn, 'point', point, '(u64)', U64_MAX);
}
