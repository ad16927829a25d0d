/**
 * A submit ioctl takes the reference to the job's finished fence it returns
 * to userspace *after* `drm_sched_entity_push_job()`. Once pushed, the job
 * belongs to the scheduler: it may run, complete and be freed by `free_job`
 * (which clears `job->s_fence` in `drm_sched_job_cleanup` and frees the job)
 * before the submitter's next line runs on this CPU. The kernel documents
 * it: the job must not be touched after push. Drivers have shipped this
 * pattern more than once; it survives testing because the job is rarely
 * that fast.
 *
 * The model runs one thread at a time and the read always comes right after
 * the push here, so the job is never actually freed first. The checkers
 * still report it on every schedule, from the history: nothing orders the
 * submitter's read of `job->s_fence` before the free worker's write of it
 * in `drm_sched_job_cleanup` (a data race), nor before the free of the job
 * once `free_job` returns (the race form of a use after free).
 *
 * Expectation: `kcsan.data_race` and `kasan.slab_use_after_free` on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { GpuDevice } from '../src/hw/index.ts';
import { msleep } from '../src/kernel/index.ts';
import { drmSchedEntityPushJob } from '../src/sched/index.ts';

export default defineScenario({
  name: 'push-job-then-touch',
  description: 'the submitter reads job->s_fence after drm_sched_entity_push_job: races with free_job',
  expect: { verdict: 'splat', rules: ['kcsan.data_race', 'kasan.slab_use_after_free'] },
  setup(k, ctx) {
    const gpu = new GpuDevice(k, { name: 'gpu0', irq: 40 });
    k.kthreadRun('submit-ioctl', async () => {
      const entity = gpu.createEntity();
      const job = gpu.jobCreate(entity, 1_000_000);
      if (typeof job === 'number') throw new Error(`job create failed: ${job}`);
      await gpu.submitLock.lock();
      job.arm();
      drmSchedEntityPushJob(job);
      const fence = job.finished.get(); // BUG: the job may already be freed by free_job
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
