/**
 * A GPU driver's submit ioctl resolves the job's in-syncobjs with
 * DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, so userspace may submit a wait on
 * a timeline point before the submission that signals it (Vulkan's
 * wait-before-signal). The bug: it does so with the context's submission
 * lock held. Queue 1 submits "wait for point 1, signal point 2"; queue 0
 * submits "signal point 1" on the same context. When queue 1 gets the lock
 * first, it sleeps waiting for point 1 while queue 0 cannot take the lock
 * to submit it: both stall until drm_syncobj_find_fence gives up after 5 s
 * (-ETIME) and queue 1's submission fails.
 *
 * drm_syncobj_find_fence catches the pattern before it hurts: waiting for
 * userspace must not happen with locks held, so with WAIT_FOR_SUBMIT it
 * asserts `lockdep_assert_none_held_once()`. That WARN is reported on every
 * schedule; the 5 s stall and the failed submission only on some.
 *
 * Expectation: `lockdep.assert_none_held` on every seed.
 */
import type { DmaFence } from '../src/fence/index.ts';
import { DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, drmSyncobjFindFence } from '../src/gem/index.ts';
import { defineScenario } from '../src/scenario/index.ts';
import { gpuContext, submitLocked, twoQueues } from './_syncobj-queues.ts';
import type { Submit } from './_syncobj-queues.ts';

export default defineScenario({
  name: 'syncobj-wait-before-submit',
  description: 'a submit ioctl waits for a syncobj point to be submitted while holding the context lock the submitter needs',
  expect: { verdict: 'splat', rules: ['lockdep.assert_none_held'] },
  setup(k, ctx) {
    const c = gpuContext(k);

    /** The driver's DRM_IOCTL_GPU_SUBMIT. */
    async function submitIoctl(a: Submit): Promise<number> {
      await c.lock.lock();
      let dep: DmaFence | null = null;
      if (a.inPoint) {
        const p = { fence: null as DmaFence | null };
        // BUG: waits for userspace (another queue's submission) with ctx->lock held.
        const r = await drmSyncobjFindFence(c.file, c.handle, a.inPoint, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, p);
        if (r) {
          c.lock.unlock();
          return r;
        }
        dep = p.fence;
      }
      return submitLocked(c, a, dep);
    }

    twoQueues(c, ctx, submitIoctl);
  },
});
