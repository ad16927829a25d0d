/**
 * A sw_sync-style timeline whose point release checks `list_empty(&pt->link)`
 * before taking the timeline lock (the shape of sw_sync's
 * `timeline_fence_release` before it took the lock first). The signal loop
 * unlinks each point it signals, under the lock, right after signalling it.
 * A waiter that polls the point (`dma_fence_is_signaled`, no lock taken)
 * and drops the last reference as soon as it sees it signalled runs the
 * release on another CPU while the signal loop is still on that point: the
 * unlocked check reads `pt->link` as the loop writes it, and the point is
 * freed under the loop's feet.
 *
 * In the model the loop always finishes before the waiter runs, yet both
 * are reported on every schedule: the waiter only synchronised with the
 * signal itself (seeing the SIGNALED bit), not with what the loop did after
 * it. (A waiter in `dma_fence_wait` would not show it: the default wait
 * takes the fence lock, here the timeline lock, after waking.)
 *
 * Expectation: `kcsan.data_race` and `kasan.slab_use_after_free` on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import { kfree, msleep } from '../src/kernel/index.ts';
import type { SyncPt } from './_timeline.ts';
import { syncPtCreate, timelineCreate, timelineSignal } from './_timeline.ts';

export default defineScenario({
  name: 'timeline-signal-vs-put',
  description: 'a polled timeline point is released; its release checks the list link without the lock the signal loop holds',
  expect: { verdict: 'splat', rules: ['kcsan.data_race', 'kasan.slab_use_after_free'] },
  setup(k, ctx) {
    const tl = timelineCreate(k);
    const ops: DmaFenceOps<SyncPt> = {
      getDriverName: () => 'sw_sync',
      getTimelineName: () => 'tl',
      inOrder: true,
      // timeline_fence_release
      release: (pt) => {
        if (pt.link.linked) { // BUG: list_empty(&pt->link) without the timeline lock
          const fl = tl.lock.lockIrqsave();
          tl.active.del(pt);
          pt.link.linked = false;
          tl.lock.unlockIrqrestore(fl);
        }
        kfree(k, pt.link);
      },
    };
    const N = 4;
    k.kthreadRun('waiter', async () => {
      const pts = Array.from({ length: N }, (_, i) => syncPtCreate(k, tl, ops, i + 1));
      for (const pt of pts) {
        // Poll the point as a sync_file poll does (dma_fence_is_signaled, no lock), then drop it.
        while (!pt.isSignaled()) await msleep(k, 1);
        pt.put();
      }
      ctx.note(`${N} points polled and released`);
    });
    k.kthreadRun('signaller', async () => {
      for (let i = 0; i < N; i++) {
        await msleep(k, 1);
        timelineSignal(tl, 1);
      }
    });
  },
});
