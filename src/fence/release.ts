import { Errno } from '../kernel/index.ts';
import type { DmaFence } from './fence.ts';
import { MODEL_IN_ORDER, MODEL_INITIALIZED, MODEL_OBSERVED, SIGNALED } from './flags.ts';
import { reportReleaseUninitialized } from './init-rules.ts';
import { fenceLock, fenceUnlock } from './lock.ts';
import { fenceName, fenceSplat, unobserve, untrackInOrder } from './rules.ts';
import { fenceId } from './state.ts';

/**
 * `dma_fence_release`: the kref release. A fence released with callbacks
 * still queued and not signalled (a refcount bug) WARNs
 * (`fence.released_with_pending_signals`), gets `-EDEADLK` and is signalled
 * so nothing waits forever; then the driver's `release` op runs.
 *
 * @kernel dma_fence_release
 */
export function dmaFenceRelease(f: DmaFence): void {
  const k = f.kernel;
  if ((f.flags & MODEL_INITIALIZED) === 0) {
    reportReleaseUninitialized(f);
    return;
  }
  if (k.events.active) {
    k.emit('fence-destroy', {
      fence: fenceId(f),
      context: f.context,
      seqno: f.seqno,
      signalled: (f.flags & SIGNALED) !== 0,
    });
  }
  if (f.cbHead !== null && (f.flags & SIGNALED) === 0) {
    fenceSplat(
      k,
      'fence.released_with_pending_signals',
      `WARNING: Fence ${fenceName(f)} released with pending signals!`,
      'The last reference was dropped while callbacks were queued; likely a refcounting bug. The fence is signalled with -EDEADLK.',
      { context: f.context, seqno: f.seqno },
    );
    const lock = f.lock;
    const fl = fenceLock(lock);
    f.error = -Errno.EDEADLK;
    f.signalLocked();
    fenceUnlock(lock, fl);
    // Its memory is freed while others still reference it through their callbacks: poisoned.
    k.hb?.free(k.currentOrNull, f, 'dma_fence_release');
  }
  if ((f.flags & MODEL_IN_ORDER) !== 0) untrackInOrder(f);
  if ((f.flags & MODEL_OBSERVED) !== 0) unobserve(f);
  f.ops.release?.(f);
}
