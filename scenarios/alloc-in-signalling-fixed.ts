/**
 * The fix of `alloc-in-signalling`: allocate before the point of no return
 * (outside the signalling section), as drivers preallocate their hardware
 * fences; inside the section only a GFP_NOWAIT allocation (which never
 * enters reclaim and may fail) is made.
 *
 * Expectation: clean.
 */
import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from '../src/check/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import { GFP_KERNEL, GFP_NOWAIT, kfree, kmalloc, msleep } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'alloc-in-signalling-fixed',
  description: 'allocation moved before the signalling section (GFP_NOWAIT inside): clean',
  expect: { verdict: 'clean' },
  setup(k) {
    k.kthreadRun('run_job', async () => {
      const hwFence = kmalloc(k, 128, GFP_KERNEL);
      await msleep(k, 1);
      const cookie = dmaFenceBeginSignalling(k);
      const optional = kmalloc(k, 32, GFP_NOWAIT);
      dmaFenceEndSignalling(k, cookie);
      kfree(k, optional);
      kfree(k, hwFence);
    });
  },
});
