/**
 * A "run_job"-like thread allocates with GFP_KERNEL inside a fence
 * signalling section. Reclaim may wait on fences (shrinkers, MMU
 * notifiers), so the fence this section must signal can end up waiting on
 * the allocation: a deadlock. lockdep reports it on the first run as a
 * cycle dma_fence_map → fs_reclaim → mmu_notifier → dma_fence_map (the
 * second half recorded at boot by the dma_resv priming).
 *
 * Expectation: `lockdep.circular` on every seed.
 */
import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from '../src/check/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import { GFP_KERNEL, kfree, kmalloc, msleep } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'alloc-in-signalling',
  description: 'GFP_KERNEL allocation inside a dma-fence signalling section: a reclaim cycle through fs_reclaim and dma_fence_map',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k) {
    k.kthreadRun('run_job', async () => {
      await msleep(k, 1);
      const cookie = dmaFenceBeginSignalling(k);
      const hwFence = kmalloc(k, 128, GFP_KERNEL);
      dmaFenceEndSignalling(k, cookie);
      kfree(k, hwFence);
    });
  },
});
