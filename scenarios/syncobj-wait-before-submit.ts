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
import { defineScenario } from '../src/scenario/index.ts';
import { dmaFenceChainAlloc } from '../src/fence/index.ts';
import type { DmaFence } from '../src/fence/index.ts';
import {
  DrmDevice,
  DrmFile,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  drmSyncobjAddPoint,
  drmSyncobjCreate,
  drmSyncobjFind,
  drmSyncobjFindFence,
  drmSyncobjGetHandle,
  drmSyncobjRelease,
} from '../src/gem/index.ts';
import { GpuDevice } from '../src/hw/index.ts';
import { Completion, Errno, errnoName, Mutex } from '../src/kernel/index.ts';
import { Device } from '../src/pci/index.ts';

interface Submit {
  inPoint: number;
  outPoint: number;
  durationNs: number;
}

export default defineScenario({
  name: 'syncobj-wait-before-submit',
  description: 'a submit ioctl waits for a syncobj point to be submitted while holding the context lock the submitter needs',
  expect: { verdict: 'splat', rules: ['lockdep.assert_none_held'] },
  setup(k, ctx) {
    const gpu = new GpuDevice(k, { name: 'gpu', irq: 90 });
    const file = new DrmFile(new DrmDevice(k, 'gpu', new Device('gpu')));
    const timeline = drmSyncobjCreate(k, 0);
    if (typeof timeline === 'number') throw new Error('drm_syncobj_create failed');
    const handle = drmSyncobjGetHandle(file, timeline);
    timeline.put();
    const ctxLock = new Mutex(k, '&ctx->lock');
    const entity = gpu.createEntity();

    /** The driver's DRM_IOCTL_GPU_SUBMIT. */
    async function submitIoctl(a: Submit): Promise<number> {
      await ctxLock.lock();
      let dep: DmaFence | null = null;
      if (a.inPoint) {
        const p = { fence: null as DmaFence | null };
        // BUG: waits for userspace (another queue's submission) with ctx->lock held.
        const r = await drmSyncobjFindFence(file, handle, a.inPoint, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, p);
        if (r) {
          ctxLock.unlock();
          return r;
        }
        dep = p.fence;
      }
      // Everything that can fail is allocated before the job is armed.
      const job = gpu.jobCreate(entity, a.durationNs);
      if (typeof job === 'number') {
        dep?.put();
        ctxLock.unlock();
        return job;
      }
      const chain = dmaFenceChainAlloc(k);
      if (!chain) {
        job.cleanup();
        dep?.put();
        ctxLock.unlock();
        return -Errno.ENOMEM;
      }
      job.addDependency(dep);
      const done = await gpu.submit(job);
      const out = drmSyncobjFind(file, handle)!;
      drmSyncobjAddPoint(out, chain, done, a.outPoint);
      out.put();
      done.put();
      ctxLock.unlock();
      return 0;
    }

    const results: string[] = [];
    const submitted = new Completion(k, 'submitted');
    k.kthreadRun('vk-queue-1', async () => {
      const r = await submitIoctl({ inPoint: 1, outPoint: 2, durationNs: 1_000_000 });
      results.push(`queue 1: ${r ? errnoName(r) : 'submitted'} at ${k.nowNs / 1e6} ms`);
      submitted.complete();
    });
    k.kthreadRun('vk-queue-0', async () => {
      const r = await submitIoctl({ inPoint: 0, outPoint: 1, durationNs: 1_000_000 });
      results.push(`queue 0: ${r ? errnoName(r) : 'submitted'} at ${k.nowNs / 1e6} ms`);
      submitted.complete();
    });
    k.kthreadRun('teardown', async () => {
      await submitted.waitForCompletion();
      await submitted.waitForCompletion();
      const p = { fence: null as DmaFence | null };
      if ((await drmSyncobjFindFence(file, handle, 0, 0, p)) === 0) {
        await p.fence!.wait(false);
        p.fence!.put();
      }
      ctx.note(results.join('; '));
      drmSyncobjRelease(file);
      await entity.destroy();
      await gpu.fini();
    });
  },
});
