/**
 * The fixed twin of `timeline-signal-vs-put`: the point release takes the
 * timeline lock before it looks at the point's link, as sw_sync's
 * `timeline_fence_release` does now. The signal loop's unlink happens under
 * the same lock, so the release is ordered after it (or unlinks the point
 * itself), and the point is freed only after the loop is done with it.
 *
 * Expectation: clean on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import type { DmaFenceOps } from '../src/fence/index.ts';
import { kfree, msleep } from '../src/kernel/index.ts';
import type { SyncPt } from './_timeline.ts';
import { syncPtCreate, timelineCreate, timelineSignal } from './_timeline.ts';

export default defineScenario({
  name: 'timeline-signal-vs-put-fixed',
  description: 'the timeline point release checks and unlinks its list link under the timeline lock',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const tl = timelineCreate(k);
    const ops: DmaFenceOps<SyncPt> = {
      getDriverName: () => 'sw_sync',
      getTimelineName: () => 'tl',
      inOrder: true,
      // timeline_fence_release
      release: (pt) => {
        const fl = tl.lock.lockIrqsave();
        if (pt.link.linked) {
          tl.active.del(pt);
          pt.link.linked = false;
        }
        tl.lock.unlockIrqrestore(fl);
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
