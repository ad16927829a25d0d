/**
 * `drm_sched_job_add_syncobj_dependency`: a job waits for a syncobj point,
 * found without waiting for its submission.
 */
import { describe, expect, it } from 'vitest';
import { dmaFenceChainAlloc, dmaFenceContextAlloc, DmaFence } from '../../src/fence/index.ts';
import type { DmaFenceOps } from '../../src/fence/index.ts';
import { DrmDevice, DrmFile, drmSyncobjAddPoint, drmSyncobjCreate, drmSyncobjGetHandle, drmSyncobjRelease } from '../../src/gem/index.ts';
import { Errno, msleep, SpinLock } from '../../src/kernel/index.ts';
import { Device } from '../../src/pci/index.ts';
import { DrmMockScheduler } from '../../src/sched/index.ts';
import { rules, runTest } from './helpers.ts';

const ops: DmaFenceOps = { getDriverName: () => 'other-gpu', getTimelineName: () => 'ring' };

describe('drm_sched_job_add_syncobj_dependency', () => {
  it('the job runs only after the syncobj point it depends on signals', async () => {
    const { r } = await runTest(async (k) => {
      const file = new DrmFile(new DrmDevice(k, 'gpu', new Device('gpu')));
      const s = drmSyncobjCreate(k, 0);
      if (typeof s === 'number') throw new Error('create');
      const handle = drmSyncobjGetHandle(file, s);
      const other = new DmaFence(k, ops, new SpinLock(k, 'other', { key: 'test.other' }), dmaFenceContextAlloc(k, 1), 1);
      drmSyncobjAddPoint(s, dmaFenceChainAlloc(k)!, other, 3);
      const sched = new DrmMockScheduler(k);
      const entity = sched.entityNew();
      const job = sched.jobNew(entity, 100);
      expect(await job.addSyncobjDependency(file, handle, 3)).toBe(0);
      expect(job.dependencies).toHaveLength(1);
      DrmMockScheduler.submit(job);
      await msleep(k, 5);
      expect(DrmMockScheduler.isFinished(job)).toBe(false);
      other.signal();
      expect(await DrmMockScheduler.waitFinished(job, k.msecsToJiffies(100))).toBe(true);
      // A point not submitted yet, and an unknown handle.
      const late = sched.jobNew(entity, 100);
      expect(await late.addSyncobjDependency(file, handle, 4)).toBe(-Errno.EINVAL);
      expect(await late.addSyncobjDependency(file, 99, 0)).toBe(-Errno.ENOENT);
      late.cleanup();
      other.put();
      s.put();
      drmSyncobjRelease(file); // the file closes: its handle's reference goes
      await sched.entityFree(entity);
      await sched.fini();
    });
    expect(rules(r.splats)).toEqual([]);
  });
});
