import { describe, expect, it } from 'vitest';
import { DmaFence, dmaFenceContextAlloc } from '../../src/fence/index.ts';
import { msleep, SpinLock } from '../../src/kernel/index.ts';
import { DrmGpuSchedStat, DrmMockScheduler, DrmSchedEntity, drmSchedInvalidateJob } from '../../src/sched/index.ts';
import type { DrmMockSchedJob, DrmSchedJob, GuiltyFlag } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

const HZ = 1000;

describe('teardown with jobs in flight', () => {
  it('killing an entity completes its queued jobs in order with -ESRCH, without running them, and frees them', async () => {
    const order: number[] = [];
    const { r } = await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const freed: DrmSchedJob[] = [];
      const inner = s.ops.freeJob.bind(s.ops);
      (s.ops as { freeJob: unknown }).freeJob = (j: DrmMockSchedJob) => {
        freed.push(j);
        return inner(j);
      };
      const e = s.entityNew();
      const ext = new DmaFence(k, { getDriverName: () => 't', getTimelineName: () => 't' }, new SpinLock(k, 'x', { key: 'test.fence' }), dmaFenceContextAlloc(k, 1), 1);
      const jobs: DrmMockSchedJob[] = [];
      const fences: DmaFence[] = [];
      for (let i = 0; i < 4; i++) {
        const j = s.jobNew(e);
        // All but the first wait for a fence that signals only after the kill.
        if (i > 0) j.addDependency(ext.get());
        DrmMockScheduler.submit(j);
        jobs.push(j);
        const f = j.finished.get();
        fences.push(f);
        f.addCallback(new (await import('../../src/fence/index.ts')).DmaFenceCb(), (ff) => order.push(ff.seqno));
      }
      expect(await DrmMockScheduler.waitScheduled(jobs[0]!, HZ)).toBe(true);
      await e.kill();
      // The killed jobs wait for their dependencies first (no data corruption).
      await msleep(k, 10);
      expect(fences.slice(1).every((f) => !f.signalled)).toBe(true);
      ext.signal();
      s.advance(1);
      await msleep(k, 10);
      expect(fences.map((f) => f.error)).toEqual([0, -3, -3, -3]);
      expect(jobs.slice(1).every((j) => j.hwFence === null)).toBe(true);
      expect(freed.length).toBe(4);
      for (const f of fences) f.put();
      ext.put();
      await e.fini();
      await s.fini();
    });
    expect(order).toEqual([1, 2, 3, 4]);
    expect(rules(r.splats)).toEqual([]);
  });

  it('destroy waits until the queue drained (flush), then finalises', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const jobs = Array.from({ length: 5 }, () => s.jobNew(e, 1000));
      for (const j of jobs) DrmMockScheduler.submit(j);
      await e.destroy();
      // Every job was popped (handed to the hardware) before fini ran.
      expect(jobs.every((j) => j.hwFence !== null)).toBe(true);
      await msleep(k, 10);
      expect(jobs.every((j) => DrmMockScheduler.isFinished(j))).toBe(true);
      await s.fini();
    });
  });

  it('flush of an exiting, SIGKILLed last user kills the entity; an exiting caller waits only up to its timeout', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const e = s.entityNew();
      const blocker = new DmaFence(k, { getDriverName: () => 't', getTimelineName: () => 't' }, new SpinLock(k, 'x', { key: 'test.fence' }), dmaFenceContextAlloc(k, 1), 1);
      const j = s.jobNew(e);
      j.addDependency(blocker.get());
      DrmMockScheduler.submit(j);
      const f = j.finished.get();
      const left = await e.flush(50, { exiting: true, killed: true });
      expect(left).toBe(0);
      expect(e.stopped).toBe(true);
      blocker.signal();
      await f.wait(false);
      expect(f.error).toBe(-3);
      f.put();
      blocker.put();
      await e.fini();
      await s.fini();
    });
  });
});

describe('timeouts and recovery', () => {
  it('stop/start: running jobs are detached from their hardware fences; start completes those without one with -ECANCELED', async () => {
    const { r } = await runTest(async (k) => {
      const s = new DrmMockScheduler(k, { timeout: HZ / 5 });
      let bad: DrmSchedJob | null = null;
      (s.ops as { timedoutJob: unknown }).timedoutJob = async (job: DrmMockSchedJob) => {
        bad = job;
        await s.stop(job);
        // The "reset": the bad job's hardware work is gone for good.
        s.jobList.delete(job);
        job.hwFence!.put();
        job.hwFence = null;
        s.start(0);
        return DrmGpuSchedStat.RESET;
      };
      const e = s.entityNew();
      const a = s.jobNew(e);
      const b = s.jobNew(e);
      DrmMockScheduler.submit(a);
      DrmMockScheduler.submit(b);
      const fa = a.finished.get();
      const fb = b.finished.get();
      await fa.wait(false);
      expect(bad).toBe(a);
      expect(fa.error).toBe(-125);
      // b was running too: stop dropped its hardware fence, so start cancels it as well
      // (drivers re-run survivors with resubmit_jobs, or through their entities).
      await fb.wait(false);
      expect(fb.error).toBe(-125);
      expect(s.creditCount).toBe(0);
      s.advance(2);
      fa.put();
      fb.put();
      await e.destroy();
      await s.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });

  it('ENODEV stops re-arming the timeout; drm_sched_fault runs the handler at once', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k, { timeout: 10 * HZ });
      let calls = 0;
      const inner = s.ops.timedoutJob.bind(s.ops);
      (s.ops as { timedoutJob: unknown }).timedoutJob = async (job: DrmMockSchedJob) => {
        calls++;
        await inner(job);
        return DrmGpuSchedStat.ENODEV;
      };
      const e = s.entityNew();
      const j = s.jobNew(e);
      DrmMockScheduler.submit(j);
      await DrmMockScheduler.waitScheduled(j, HZ);
      const t0 = k.nowNs;
      s.fault();
      await msleep(k, 1);
      expect(calls).toBe(1);
      expect(k.nowNs - t0).toBeLessThan(1e9);
      expect(s.workTdr.isPending()).toBe(false);
      await e.destroy();
      await s.fini();
    });
  });

  it('resubmit_jobs re-runs pending jobs; a job over the hang limit makes its context guilty (-ECANCELED)', async () => {
    await runTest(async (k) => {
      const s = new DrmMockScheduler(k);
      const runs: number[] = [];
      const inner = s.ops.runJob.bind(s.ops);
      (s.ops as { runJob: unknown }).runJob = (job: DrmMockSchedJob) => {
        runs.push(job.id);
        if (job.hwFence) {
          // A re-run: the old hardware fence is replaced.
          s.jobList.delete(job);
          job.hwFence.put();
        }
        return inner(job);
      };
      const guilty: GuiltyFlag = { value: 0 };
      const e = new DrmSchedEntity(k);
      e.init(2, [s], guilty);
      const a = s.jobNew(e);
      const b = s.jobNew(e);
      DrmMockScheduler.submit(a);
      DrmMockScheduler.submit(b);
      await DrmMockScheduler.waitScheduled(b, HZ);
      await s.stop(null);
      s.increaseKarma(a);
      s.increaseKarma(a);
      expect(a.karma).toBe(2);
      expect(guilty.value).toBe(1);
      expect(drmSchedInvalidateJob(b, 5)).toBe(false);
      await s.resubmitJobs();
      expect(a.finished.error).toBe(-125);
      s.start(0);
      s.advance(10);
      await DrmMockScheduler.waitFinished(b, HZ);
      expect(runs).toEqual([a.id, b.id, a.id, b.id]);
      await e.destroy();
      await s.fini();
    });
  });
});
