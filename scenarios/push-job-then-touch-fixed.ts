/**
 * The fixed twin of `push-job-then-touch`: the submit ioctl takes its
 * reference to the finished fence before `drm_sched_entity_push_job()`,
 * while the job is still its own, and never touches the job after the push
 * (the order `drm_sched_job_arm` → `dma_fence_get(&job->s_fence->finished)`
 * → `drm_sched_entity_push_job` that the scheduler's documentation asks for).
 *
 * Expectation: clean on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { GpuDevice } from '../src/hw/index.ts';
import { msleep } from '../src/kernel/index.ts';
import { drmSchedEntityPushJob } from '../src/sched/index.ts';

export default defineScenario({
  name: 'push-job-then-touch-fixed',
  description: 'the finished fence is taken before drm_sched_entity_push_job; the job is not touched after',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const gpu = new GpuDevice(k, { name: 'gpu0', irq: 40 });
    k.kthreadRun('submit-ioctl', async () => {
      const entity = gpu.createEntity();
      const job = gpu.jobCreate(entity, 1_000_000);
      if (typeof job === 'number') throw new Error(`job create failed: ${job}`);
      await gpu.submitLock.lock();
      job.arm();
      const fence = job.finished.get();
      drmSchedEntityPushJob(job);
      gpu.submitLock.unlock();
      // Back in userspace: other work, then a wait on the returned fence.
      await msleep(k, 5);
      await fence.wait(false);
      ctx.note(`job ${fence.context}:${fence.seqno} finished with ${fence.error}`);
      fence.put();
      await entity.destroy();
      await gpu.fini();
    });
  },
});
