/**
 * Scheduler behaviours that changed across kernels (`DrmSchedInitArgs.compat`)
 * and the timeout suspend/resume helpers.
 */
import { describe, expect, it } from 'vitest';
import { DmaFence, dmaFenceContextAlloc } from '../../src/fence/index.ts';
import { msleep, SpinLock } from '../../src/kernel/index.ts';
import type { Kernel } from '../../src/kernel/index.ts';
import {
  DRM_MOCK_SCHED_JOB_TIMEDOUT,
  DrmGpuScheduler,
  DrmGpuSchedStat,
  DrmMockScheduler,
  DrmSchedEntity,
  DrmSchedJob,
  DrmSchedPriority,
} from '../../src/sched/index.ts';
import type { DrmSchedCompat } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

const ops = { getDriverName: () => 'test', getTimelineName: () => 'tl' };

function depFence(k: Kernel, seqno: number): DmaFence {
  return new DmaFence(k, ops, new SpinLock(k, 'dep', { key: 'test.dep' }), dmaFenceContextAlloc(k, 1), seqno);
}

/** A driver job that keeps a pointer (no reference of its own) to its first dependency. */
class CachingJob extends DrmSchedJob {
  cachedDep: DmaFence | null = null;
}

/** A scheduler whose run_job inspects the job's dependencies, as some drivers do. */
function inspectingScheduler(k: Kernel, compat: DrmSchedCompat | undefined, seen: unknown[]): DrmGpuScheduler {
  return new DrmGpuScheduler(k, {
    ops: {
      runJob: (job: CachingJob) => {
        seen.push(job.dependencies.length);
        // BUG on old kernels: the driver borrowed the fence without its own reference.
        if (job.cachedDep) seen.push(!job.cachedDep.refcount.released);
        return null;
      },
      timedoutJob: () => DrmGpuSchedStat.RESET,
      freeJob: (job: CachingJob) => {
        job.cleanup();
      },
    },
    creditLimit: 1,
    name: 'inspect',
    ...(compat ? { compat } : {}),
  });
}

async function runWithDependency(compat: DrmSchedCompat | undefined): Promise<{ seen: unknown[]; rules: string[] }> {
  const seen: unknown[] = [];
  const { r } = await runTest(async (k) => {
    const sched = inspectingScheduler(k, compat, seen);
    const entity = new DrmSchedEntity(k);
    entity.init(DrmSchedPriority.NORMAL, [sched], null, 'e');
    const dep = depFence(k, 1);
    const job = new CachingJob(k);
    job.init(entity, 1, null, 1);
    job.cachedDep = dep;
    expect(job.addDependency(dep)).toBe(0); // consumes the only reference
    job.arm();
    entity.pushJob(job);
    await msleep(k, 1);
    dep.signal();
    await job.finished.wait(false);
    await msleep(k, 1);
    await entity.destroy();
    await sched.fini();
  });
  return { seen, rules: rules(r.splats) };
}

describe('DrmSchedCompat.dependencyRelease', () => {
  it("'v6.5+' (default): run_job still sees the dependency; it is released by drm_sched_job_cleanup", async () => {
    const { seen, rules: rs } = await runWithDependency(undefined);
    expect(seen).toEqual([1, true]);
    expect(rs).toEqual([]);
  });

  it("'v5.16-v6.4': the dependency is gone from the job before run_job, and freed: a borrowed pointer is a use after free", async () => {
    const { seen, rules: rs } = await runWithDependency({ dependencyRelease: 'v5.16-v6.4' });
    expect(seen).toEqual([0, false]);
    expect(rs).toEqual([]);
    // The driver's borrowed pointer is dangling; using it (a get) reports the use after free.
    const seen2: unknown[] = [];
    const { r } = await runTest(async (k) => {
      const sched = new DrmGpuScheduler(k, {
        ops: {
          runJob: (job: CachingJob) => {
            job.cachedDep?.get();
            seen2.push('ran');
            return null;
          },
          timedoutJob: () => DrmGpuSchedStat.RESET,
          freeJob: (job: CachingJob) => {
            job.cleanup();
          },
        },
        creditLimit: 1,
        name: 'uaf',
        compat: { dependencyRelease: 'v5.16-v6.4' },
      });
      const entity = new DrmSchedEntity(k);
      entity.init(DrmSchedPriority.NORMAL, [sched], null, 'e');
      const dep = depFence(k, 1);
      dep.signal();
      const job = new CachingJob(k);
      job.init(entity, 1, null, 1);
      job.cachedDep = dep;
      job.addDependency(dep);
      job.arm();
      entity.pushJob(job);
      await job.finished.wait(false);
      await entity.destroy();
      await sched.fini();
    });
    expect(seen2).toEqual(['ran']);
    expect(rules(r.splats)).toContain('refcount.addition_on_0');
  });
});

/**
 * A killed entity's queued job depends on two fences of two queues of one
 * engine (two contexts: the scheduler keeps one dependency per context),
 * which share the engine's fence lock. The first signals (its lock held); the
 * kill path must then wait for the second.
 */
async function killWithSharedLockDeps(compat: DrmSchedCompat | undefined): Promise<string[]> {
  const { r } = await runTest(async (k) => {
    const sched = new DrmMockScheduler(k, compat ? { compat } : {});
    const entity = sched.entityNew();
    const engineLock = new SpinLock(k, '&engine->fence_lock', { key: 'test.engine_fence_lock' });
    const d1 = new DmaFence(k, ops, engineLock, dmaFenceContextAlloc(k, 1), 1);
    const d2 = new DmaFence(k, ops, engineLock, dmaFenceContextAlloc(k, 1), 1);
    const job = sched.jobNew(entity);
    job.addDependency(d1.get());
    job.addDependency(d2.get());
    DrmMockScheduler.submit(job);
    const finished = job.finished.get();
    k.kthreadRun('engine', async () => {
      await msleep(k, 5);
      d1.signal();
      await msleep(k, 5);
      d2.signal();
    });
    await msleep(k, 1);
    await entity.fini(); // drm_sched_entity_fini kills the entity: the job never runs
    await finished.wait(false);
    expect(finished.error).toBe(-3); // -ESRCH
    finished.put();
    d1.put();
    d2.put();
    await sched.fini();
  });
  return rules(r.splats);
}

describe('DrmSchedCompat.killJobsCb', () => {
  it("'v6.18+' (default): the callback schedules a work item; the killed job completes with -ESRCH", async () => {
    expect(await killWithSharedLockDeps(undefined)).toEqual([]);
  });

  it("'v6.2-v6.17': adding the next dependency's callback inside the first one's recurses on the shared fence lock", async () => {
    const rs = await killWithSharedLockDeps({ killJobsCb: 'v6.2-v6.17' });
    // lockdep sees the recursion first; the CPU would then spin on its own lock (the thread is killed).
    expect(rs.slice(0, 2)).toEqual(['lockdep.recursive', 'spinlock.recursion']);
  });
});

describe('drm_sched_suspend_timeout / drm_sched_resume_timeout', () => {
  it('a suspended TDR does not fire; resumed with what was left, it fires that much later', async () => {
    const times: number[] = [];
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k, { timeout: 200 });
      const entity = sched.entityNew();
      const job = sched.jobNew(entity);
      DrmMockScheduler.submit(job);
      expect(await DrmMockScheduler.waitScheduled(job, 1000)).toBe(true);
      const start = k.jiffies;
      await msleep(k, 50);
      const remaining = sched.suspendTimeout();
      times.push(remaining);
      await msleep(k, 500);
      expect(job.flags & DRM_MOCK_SCHED_JOB_TIMEDOUT).toBe(0);
      sched.resumeTimeout(remaining);
      expect(await DrmMockScheduler.waitFinished(job, 1000)).toBe(false);
      await msleep(k, 10);
      expect(job.flags & DRM_MOCK_SCHED_JOB_TIMEDOUT).toBe(DRM_MOCK_SCHED_JOB_TIMEDOUT);
      times.push(start);
      await sched.entityFree(entity);
      await sched.fini();
    });
    expect(rules(r.splats)).toEqual([]);
    expect(times[0]).toBeGreaterThan(140);
    expect(times[0]).toBeLessThanOrEqual(150);
  });

  it('suspend with no TDR pending returns the full timeout; resume with nothing pending cancels', async () => {
    const got: unknown[] = [];
    await runTest(async (k) => {
      const sched = new DrmMockScheduler(k, { timeout: 200 });
      got.push(sched.suspendTimeout());
      sched.resumeTimeout(100);
      got.push(sched.workTdr.isPending());
      await sched.fini();
    });
    expect(got).toEqual([200, false]);
  });
});
