/**
 * A driver keeps a pointer to the last job its interrupt completed, for the
 * hang report its timeout handler prints. `free_job` frees the job (the
 * driver's `kfree(job)`) but leaves the pointer behind, so when a later job
 * hangs, `timedout_job` follows a pointer to a job drm_sched freed long ago:
 * the use after free the scheduler's timeout path has seen in several
 * drivers (a timeout handler must only use the job it is handed).
 *
 * Expectation: `kasan.slab_use_after_free` on every seed, naming the
 * allocation, the free in `free_job` and the access in the timeout handler.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { Errno } from '../src/kernel/index.ts';
import { DrmSchedEntity } from '../src/sched/index.ts';
import { DrmGpuSchedStat, toyForceComplete, toyJobRelease, toyRing, toySubmit } from './_toy-ring.ts';

export default defineScenario({
  name: 'timeout-uses-freed-job',
  description: 'the timeout handler reads the last completed job through a pointer free_job left behind',
  expect: { verdict: 'splat', rules: ['kasan.slab_use_after_free'] },
  setup(k, ctx) {
    const ring = toyRing(
      k,
      {
        timedoutJob: (ring, job) => {
          const last = ring.lastDone; // BUG: this job was freed by free_job
          if (last) ctx.note(`ring0 hang: job ${job.priv.seqno} stuck, last completed job ${last.priv.seqno}`);
          toyForceComplete(ring, job, -Errno.ETIMEDOUT);
          // Reset: the job is off the pending list and the driver's to free.
          toyJobRelease(k, job);
          return DrmGpuSchedStat.RESET;
        },
        freeJob: (_ring, job) => {
          toyJobRelease(k, job);
        },
      },
      20,
      1,
    );
    k.kthreadRun('client', async () => {
      const entity = new DrmSchedEntity(k);
      entity.init(2, [ring.sched]);
      const done = toySubmit(k, entity, 1);
      const hung = toySubmit(k, entity, 2, true);
      for (const f of [done, hung]) {
        await f.wait(false);
        ctx.note(`job fence ${f.seqno}: error ${f.error}`);
        f.put();
      }
      await entity.destroy();
      await ring.sched.fini();
    });
  },
});
