import { describe, expect, it } from 'vitest';
import { createCheckedKernel } from '../../src/check/index.ts';
import type { Chooser } from '../../src/kernel/index.ts';
import { DrmMockScheduler, DrmSchedEntity, DrmSchedJob } from '../../src/sched/index.ts';
import type { GuiltyFlag } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

const HZ = 1000;

describe('error paths', () => {
  it('job init: credits 0 is -EINVAL, an entity without a run queue -ENOENT, a failed fence allocation -ENOMEM', async () => {
    const failing: Chooser = { choose: () => 0, inject: (kind, site) => kind === 'alloc' && site === 'drm_sched_fence_alloc' };
    const k = createCheckedKernel({ chooser: failing });
    const out: number[] = [];
    k.kthreadRun('t', async () => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      out.push(new DrmSchedJob(k).init(e, 0));
      out.push(new DrmSchedJob(k).init(new DrmSchedEntity(k), 1));
      const j = new DrmSchedJob(k);
      out.push(j.init(e, 1));
      expect(j.sFence).toBeNull();
      await e.destroy();
      await s.fini();
    });
    const r = await k.run();
    expect(r.failure).toBeNull();
    expect(out).toEqual([-22, -2, -12]);
  });

  it('entity init with no scheduler is -EINVAL', async () => {
    await runTest(async (k) => {
      expect(new DrmSchedEntity(k).init(2, [])).toBe(-22);
    });
  });

  it('run_job returning an errno (ERR_PTR) completes the job with that error', async () => {
    let err = 0;
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      (s.ops as { runJob: unknown }).runJob = () => -5;
      const e = s.entityNew();
      const job = s.jobNew(e);
      DrmMockScheduler.submit(job);
      const f = job.finished.get();
      await f.wait(false);
      err = f.error;
      f.put();
      await e.destroy();
      await s.fini();
    });
    expect(err).toBe(-5);
  });

  it('run_job returning null completes the job at once without error', async () => {
    let err = 1;
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      (s.ops as { runJob: unknown }).runJob = () => null;
      const e = s.entityNew();
      const job = s.jobNew(e);
      DrmMockScheduler.submit(job);
      const f = job.finished.get();
      await f.wait(false);
      err = f.error;
      f.put();
      await e.destroy();
      await s.fini();
    });
    expect(err).toBe(0);
  });

  it('a guilty entity\'s jobs are skipped: run_job sees -ECANCELED on the finished fence', async () => {
    const seen: number[] = [];
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const inner = s.ops.runJob.bind(s.ops);
      (s.ops as { runJob: unknown }).runJob = (job: DrmSchedJob) => {
        seen.push(job.finished.error);
        return job.finished.error ? null : inner(job);
      };
      const guilty: GuiltyFlag = { value: 1 };
      const e = new DrmSchedEntity(k);
      expect(e.init(2, [s], guilty)).toBe(0);
      const job = s.jobNew(e);
      DrmMockScheduler.submit(job);
      const f = job.finished.get();
      await f.wait(false);
      expect(f.error).toBe(-125);
      f.put();
      await e.destroy();
      await s.fini();
    });
    expect(seen).toEqual([-125]);
  });

  it('an armed job that is never pushed: sched.job_not_pushed and its published fence never signals', async () => {
    const { r } = await runTest(
      async (k) => {
        const s = new DrmMockScheduler(k);
        const e = s.entityNew();
        const job = s.jobNew(e);
        job.arm();
        // e.g. an error path after arm that forgets the point of no return
      },
      {},
    );
    expect(rules(r.splats)).toEqual(expect.arrayContaining(['sched.job_not_pushed', 'fence.indefinite']));
  });

  it('cleaning up an armed job instead of pushing it is reported at once', async () => {
    const { r } = await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const job = s.jobNew(e);
      job.arm();
      job.cleanup();
      await e.destroy();
      await s.fini();
    });
    expect(rules(r.splats)).toContain('sched.job_not_pushed');
  });

  it('pushing an unarmed job, arming twice, pushing to a killed entity are reported', async () => {
    const { r } = await runTest(
      async (k) => {
        const s = new DrmMockScheduler(k);
        const e = s.entityNew();
        const a = s.jobNew(e);
        e.pushJob(a);
        a.arm();
        a.arm();
        e.pushJob(a);
        s.advance(1);
        await DrmMockScheduler.waitFinished(a, HZ);
        await e.destroy();
        const b = s.jobNew(e);
        DrmMockScheduler.submit(b);
        await s.fini();
      },
      { lockdep: false },
    );
    expect(rules(r.splats)).toEqual(expect.arrayContaining(['sched.push_without_arm', 'sched.job_double_arm', 'sched.push_to_killed_entity']));
  });

  it('a job larger than the credit limit is truncated with a WARN and still runs', async () => {
    const { r } = await runTest(async (k) => {
      const s = new DrmMockScheduler(k, { creditLimit: 2 });
      const e = s.entityNew();
      const job = s.jobNew(e);
      job.credits = 5;
      DrmMockScheduler.submit(job);
      expect(await DrmMockScheduler.waitScheduled(job, HZ)).toBe(true);
      expect(job.credits).toBe(2);
      s.advance(1);
      expect(await DrmMockScheduler.waitFinished(job, HZ)).toBe(true);
      await e.destroy();
      await s.fini();
    });
    expect(rules(r.splats)).toEqual(['sched.credits_exceed_limit']);
  });

  it('credits: the head job that does not fit blocks smaller jobs of other entities (fairness over utilisation)', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k, { creditLimit: 4, policy: 'fifo' });
      const e1 = s.entityNew();
      const e2 = s.entityNew();
      const a = s.jobNew(e1);
      a.credits = 3;
      const big = s.jobNew(e1);
      big.credits = 2;
      const small = s.jobNew(e2);
      DrmMockScheduler.submit(a);
      DrmMockScheduler.submit(big);
      DrmMockScheduler.submit(small);
      expect(await DrmMockScheduler.waitScheduled(a, HZ)).toBe(true);
      // 1 credit free: `big` (2) heads the FIFO and does not fit; `small` (1) would, but waits.
      expect(await DrmMockScheduler.waitScheduled(small, HZ / 10)).toBe(false);
      expect(s.creditCount).toBe(3);
      s.advance(1);
      expect(await DrmMockScheduler.waitScheduled(small, HZ)).toBe(true);
      s.advance(2);
      expect(await DrmMockScheduler.waitFinished(small, HZ)).toBe(true);
      await e1.destroy();
      await e2.destroy();
      await s.fini();
    });
  });
});
