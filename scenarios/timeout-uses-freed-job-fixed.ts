/**
 * The fixed twin of `timeout-uses-freed-job`: the interrupt records the
 * seqno of the last completed job (a value), not a pointer to the job, and
 * the timeout handler only uses the job it is handed. The record is written
 * and read under the ring lock.
 *
 * Expectation: clean on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { Errno } from '../src/kernel/index.ts';
import { DrmSchedEntity } from '../src/sched/index.ts';
import { DrmGpuSchedStat, toyForceComplete, toyJobRelease, toyRing, toySubmit } from './_toy-ring.ts';

export default defineScenario({
  name: 'timeout-uses-freed-job-fixed',
  description: 'the timeout handler reports the last completed seqno recorded under the ring lock, not a job pointer',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const ring = toyRing(
      k,
      {
        timedoutJob: (ring, job) => {
          const fl = ring.lock.lockIrqsave();
          const last = ring.lastDoneSeqno;
          ring.lock.unlockIrqrestore(fl);
          ctx.note(`ring0 hang: job ${job.priv.seqno} stuck, last completed job ${last}`);
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
