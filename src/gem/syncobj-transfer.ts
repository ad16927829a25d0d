/**
 * `DRM_IOCTL_SYNCOBJ_TRANSFER`'s two directions: a source point's fence
 * becomes a timeline point (unwrapped and merged) or a binary syncobj's
 * fence.
 *
 * @kernel drivers/gpu/drm/drm_syncobj.c (drm_syncobj_transfer_to_timeline, drm_syncobj_transfer_to_binary)
 */
import { dmaFenceChainAlloc, dmaFenceUnwrapMerge } from '../fence/index.ts';
import type { FencePtr } from '../fence/index.ts';
import { Errno } from '../kernel/index.ts';
import type { DrmFile } from './drm-file.ts';
import { drmSyncobjAddPoint, drmSyncobjReplaceFence } from './syncobj-fence.ts';
import { drmSyncobjFindFence } from './syncobj-find.ts';
import { drmSyncobjFind } from './syncobj-handles.ts';

/**
 * `DRM_IOCTL_SYNCOBJ_TRANSFER` to a timeline point (`dstPoint` != 0): the
 * source point's fence, unwrapped and merged into one fence, becomes point
 * `dstPoint` of the destination.
 *
 * @kernel drm_syncobj_transfer_to_timeline
 */
export async function drmSyncobjTransferToTimeline(
  file: DrmFile,
  a: { srcHandle: number; dstHandle: number; srcPoint: number; dstPoint: number; flags: number },
): Promise<number> {
  const k = file.dev.kernel;
  const timeline = drmSyncobjFind(file, a.dstHandle);
  if (!timeline) return -Errno.ENOENT;
  try {
    const p: FencePtr = { fence: null };
    const ret = await drmSyncobjFindFence(file, a.srcHandle, a.srcPoint, a.flags, p);
    if (ret) return ret;
    const fence = dmaFenceUnwrapMerge(k, p.fence!);
    p.fence!.put();
    if (!fence) return -Errno.ENOMEM;
    const chain = dmaFenceChainAlloc(k);
    if (chain) drmSyncobjAddPoint(timeline, chain, fence, a.dstPoint);
    fence.put();
    return chain ? 0 : -Errno.ENOMEM;
  } finally {
    timeline.put();
  }
}

/**
 * `DRM_IOCTL_SYNCOBJ_TRANSFER` to a binary syncobj (`dstPoint` 0): the
 * source point's fence replaces the destination's fence.
 *
 * @kernel drm_syncobj_transfer_to_binary
 */
export async function drmSyncobjTransferToBinary(
  file: DrmFile,
  a: { srcHandle: number; dstHandle: number; srcPoint: number; flags: number },
): Promise<number> {
  const binary = drmSyncobjFind(file, a.dstHandle);
  if (!binary) return -Errno.ENOENT;
  try {
    const p: FencePtr = { fence: null };
    const ret = await drmSyncobjFindFence(file, a.srcHandle, a.srcPoint, a.flags, p);
    if (ret) return ret;
    drmSyncobjReplaceFence(binary, p.fence);
    p.fence!.put();
    return 0;
  } finally {
    binary.put();
  }
}
