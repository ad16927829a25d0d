import { describe, expect, it } from 'vitest';
import { DrmMockScheduler, DrmSchedPriority } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

const HZ = 1000;

describe('the life of a job (KUnit drm_sched_basic_submit)', () => {
  it('is scheduled at once and finished only when the mock hardware advances', async () => {
    const { r } = await runTest(async (k) => {
      const sched = new DrmMockScheduler(k);
      const entity = sched.entityNew(DrmSchedPriority.NORMAL);
      const job = sched.jobNew(entity);
      DrmMockScheduler.submit(job);
      expect(await DrmMockScheduler.waitScheduled(job, HZ)).toBe(true);
      expect(await DrmMockScheduler.waitFinished(job, HZ / 2)).toBe(false);
      expect(sched.advance(1)).toBe(1);
      expect(await DrmMockScheduler.waitFinished(job, HZ)).toBe(true);
      await sched.entityFree(entity);
      await sched.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });
});
