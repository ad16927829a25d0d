/**
 * The fix of `syncobj-wait-before-submit`: the submit ioctl resolves its
 * in-syncobjs (waiting for their submission if need be) before it takes the
 * context lock, as drivers do (the lookup happens before the job is armed,
 * outside any lock). Whichever queue runs first, queue 0 can always submit
 * point 1, and queue 1's wait for it ends as soon as it does.
 *
 * Expectation: clean.
 */
import type { DmaFence } from '../src/fence/index.ts';
import { DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, drmSyncobjFindFence } from '../src/gem/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import { gpuContext, submitLocked, twoQueues } from './_syncobj-queues.ts';
import type { Submit } from './_syncobj-queues.ts';

export default defineScenario({
  name: 'syncobj-wait-before-submit-fixed',
  description: 'the submit ioctl waits for its syncobj points before taking the context lock: clean',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const c = gpuContext(k);

    /** The driver's DRM_IOCTL_GPU_SUBMIT. */
    async function submitIoctl(a: Submit): Promise<number> {
      let dep: DmaFence | null = null;
      if (a.inPoint) {
        const p = { fence: null as DmaFence | null };
        // No lock held while waiting for another queue's submission.
        const r = await drmSyncobjFindFence(c.file, c.handle, a.inPoint, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, p);
        if (r) return r;
        dep = p.fence;
      }
      await c.lock.lock();
      return submitLocked(c, a, dep);
    }

    twoQueues(c, ctx, submitIoctl);
  },
});
