import { Errno } from '../kernel/index.ts';
import type { DmaFence } from './forward.ts';
import { MODEL_INITIALIZED, MODEL_OBSERVED, MODEL_RULED, SIGNALED } from './flags.ts';
import { reportReleaseUninitialized } from './init-rules.ts';
import { fenceLock, fenceUnlock } from './lock.ts';
import { unobserve } from './rules.ts';
import { fenceId, fenceState } from './state.ts';

/**
 * `dma_fence_release`: the kref release. A fence released with callbacks
 * still queued and not signalled (a refcount bug) WARNs
 * (`fence.released_with_pending_signals`, judged by the rule book from the
 * destroy event followed by the signal), gets `-EDEADLK` and is signalled
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
  fenceState(k);
  const pending = f.cbHead !== null && (f.flags & SIGNALED) === 0;
  // Ruled fences, and a release with callbacks queued (the rule book reports it), when not traced.
  const ruled = (f.flags & MODEL_RULED) !== 0 || pending;
  if (k.events.active || (ruled && k.events.wants('fence-destroy'))) {
    k.emit(
      'fence-destroy',
      {
        fence: fenceId(f),
        context: f.context,
        seqno: f.seqno,
        signalled: (f.flags & SIGNALED) !== 0,
        pendingCallbacks: pending,
      },
      ruled,
    );
  }
  if (f.cbHead !== null && (f.flags & SIGNALED) === 0) {
    // Reported by the rule book from the events (destroy, then this signal on
    // the same thread): `fence.released_with_pending_signals`, as in a trace.
    const lock = f.lock;
    const fl = fenceLock(lock);
    f.error = -Errno.EDEADLK;
    f.signalLocked();
    fenceUnlock(lock, fl);
    // Its memory is freed while others still reference it through their callbacks: poisoned.
    k.hb?.free(k.currentOrNull, f, 'dma_fence_release');
  }
  if ((f.flags & MODEL_OBSERVED) !== 0) unobserve(f);
  f.ops.release?.(f);
}
