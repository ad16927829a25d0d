/**
 * The fix of `syncobj-wait-before-submit`: the submit ioctl resolves its
 * in-syncobjs (waiting for their submission if need be) before it takes the
 * context lock, as drivers do (the lookup happens before the job is armed,
 * outside any lock). Whichever queue runs first, queue 0 can always submit
 * point 1, and queue 1's wait for it ends as soon as it does.
 *
 * Expectation: clean.
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
  name: 'syncobj-wait-before-submit-fixed',
  description: 'the submit ioctl waits for its syncobj points before taking the context lock: clean',
  expect: { verdict: 'clean' },
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
      let dep: DmaFence | null = null;
      if (a.inPoint) {
        const p = { fence: null as DmaFence | null };
        // No lock held while waiting for another queue's submission.
        const r = await drmSyncobjFindFence(file, handle, a.inPoint, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, p);
        if (r) return r;
        dep = p.fence;
      }
      await ctxLock.lock();
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
